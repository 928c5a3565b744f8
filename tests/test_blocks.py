"""The register block measured by autotune (kernels/bench/experiments/blocks.py): a
block replaces the CPU table's only beyond the noise, the measurement runs here, and the
numba backends compile with the recorded blocks, or with the table's for numba's target
when it is another CPU (an AVX2 one, x86-64 with no features), and stay right."""

import json
import os
import platform
import subprocess
import sys

import pytest

pytest.importorskip("numba")
from kernels import record  # noqa: E402
from kernels.bench.experiments import blocks  # noqa: E402

TABLE = {"float64": (8, 3, 512), "float32": (8, 3, 512)}


def test_a_block_replaces_the_tables_only_beyond_the_spread_of_their_rounds():
    seconds = {
        "8x3x512": {"float64": [1.00, 1.02, 1.01], "float32": [1.00, 1.01, 1.00]},
        "4x6x512": {"float64": [0.97, 0.99, 1.03], "float32": [0.80, 0.81, 0.80]},
    }
    # float64: 3 % faster inside a 6 % spread, a tie: the table stands; float32: 20 % ahead
    assert blocks.fastest(seconds, TABLE) == {"float64": [8, 3, 512], "float32": [4, 6, 512]}
    # the table's block not measured: the fastest measured
    del seconds["8x3x512"]
    assert blocks.fastest(seconds, TABLE)["float64"] == [4, 6, 512]


def test_the_candidates_fit_the_register_file_and_start_with_the_table():
    from kernels.ops import blocking

    table = list(dict.fromkeys(blocking.block(*blocking.target()).values()))
    found = blocks.candidates()
    assert found[: len(table)] == table and len(blocks.candidates(quick=True)) <= 2
    registers = 32 if max(b for _, _, b in found) == 512 else 16
    assert all(mr * nv + nv + 1 <= registers or (mr, nv, b) in table for mr, nv, b in found)


def test_a_block_is_measured_in_a_fresh_process(monkeypatch):
    monkeypatch.setattr(blocks, "MINIBATCHES", 2)
    seconds = blocks.measure([(4, 2, 128)], rounds=2)
    assert set(seconds) == {"4x2x128"} and set(seconds["4x2x128"]) == {"float64", "float32"}
    assert all(len(t) == 2 and min(t) > 0 for t in seconds["4x2x128"].values())


# the numba backends against numpy in a fresh process; prints the blocks used, and why
SHOW = (
    "import json, numpy as np, kernels\n"
    "from kernels import mlp\n"
    "from kernels.ops import microkernel as mk\n"
    "X = np.random.default_rng(0).random((230, 784)); y = np.arange(230) % 10\n"
    "a, b = mlp.init_params(dh=13, seed=0), mlp.init_params(dh=13, seed=0)\n"
    "kernels.get('mlp_epoch', 'numba-serial')(a, X, y, batch_size=100)\n"
    "kernels.get('mlp_epoch', 'numpy')(b, X, y, batch_size=100)\n"
    "np.testing.assert_allclose(a.W1, b.W1, rtol=1e-7, atol=1e-9)\n"
    "z = X[:37, :23] * 40 - 20\n"
    "s, t = kernels.get('softmax', 'numba')(z), kernels.get('softmax', 'numpy')(z)\n"
    "np.testing.assert_allclose(s, t, rtol=1e-13, atol=1e-300)\n"
    "g = [kernels.get('gradient_norm', b) for b in ('numba', 'numpy')]\n"
    "for u in (X[:3].reshape(3, 28, 28), X[0, :45].reshape(5, 9), X[0, :8].reshape(2, 2, 2)):\n"
    "    for v in (u, u.astype(np.float32)):\n"
    "        np.testing.assert_array_equal(g[0](v), g[1](v))\n"
    "print(json.dumps([mk.BLOCKS, mk.BLOCK_FROM]))\n"
)


def _blocks_used(env) -> tuple[dict, str]:
    """Run SHOW with ``env``: it must pass; the blocks it used and where they came from."""
    out = subprocess.run(
        [sys.executable, "-c", SHOW], env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-2000:]
    used, source = json.loads(out.stdout.splitlines()[-1])
    return used, source


def test_the_numba_backends_compile_with_the_recorded_blocks(tmp_path):
    """A record naming blocks: a fresh process's microkernel uses them, and its epoch,
    softmax and gradient_norm (whose vectors take the block's width) still equal numpy's;
    KERNELS_BLOCK still wins over the record."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), "NUMBA_CACHE_DIR": str(tmp_path / "nb")}
    env.pop("KERNELS_BLOCK", None)
    code = (
        "from kernels import record\n"
        "record.save_record({}, blocks={'float64': [5, 2, 256], 'float32': [3, 3, 128]})\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=300)
    used, source = _blocks_used(env)
    assert used == {"float64": [5, 2, 256], "float32": [3, 3, 128]}
    assert source == "measured by autotune"
    env["KERNELS_BLOCK"] = "4x2x128"
    assert _blocks_used(env)[1] == "KERNELS_BLOCK"


# numba's targets other than this CPU: an AVX2 one without AVX-512 (the Zen 2 of the
# issue), and x86-64 with no feature named, as a container that shares its cache sets
FORGED = {
    "haswell": ("+avx,+avx2,+fma,+sse4.2,+popcnt,+f16c,+bmi,+bmi2", [4, 3, 256]),
    "generic": ("", None),
}


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86 targets")
@pytest.mark.parametrize("cpu", sorted(FORGED))
def test_the_numba_backends_run_right_on_another_cpu_target(tmp_path, cpu):
    """numba compiling for another CPU (NUMBA_CPU_NAME, NUMBA_CPU_FEATURES) runs the
    table's block for that CPU, and every numba kernel still equals numpy's."""
    from llvmlite import binding as llvm

    from kernels.ops import blocking

    features, float64_block = FORGED[cpu]
    host = blocking.enabled(llvm.get_host_cpu_features().flatten())
    if not blocking.enabled(features) <= host:
        pytest.skip(f"this CPU cannot run code for {cpu}")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), "NUMBA_CACHE_DIR": str(tmp_path / "nb")}
    env |= {"NUMBA_CPU_NAME": cpu, "NUMBA_CPU_FEATURES": features}
    env.pop("KERNELS_BLOCK", None)
    used, source = _blocks_used(env)
    table = blocking.block("x86_64", cpu, blocking.enabled(features))
    assert source == "table" and used == {d: list(b) for d, b in table.items()}
    if float64_block:  # the AVX2 entry, the one measured on Zen 2
        assert used["float64"] == float64_block


def test_a_record_with_a_malformed_block_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    record.forget()
    with pytest.raises(ValueError, match="blocks"):
        record.save_record({}, blocks={"float64": [8, 3]})
    record.save_record({})
    assert record.recorded_blocks() is None
    record.forget()
