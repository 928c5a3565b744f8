"""The microkernel's register block (kernels/ops/blocking.py): the CPU table, numba's
target as it is read, a forced block, and every block of the table run here."""

import os
import subprocess
import sys

import pytest

pytest.importorskip("numba")
from kernels.ops import blocking  # noqa: E402

TABLE = [  # (arch, cpu, features, vector registers): every row of the CPU table
    ("x86_64", "znver4", "+avx512f,+avx2,+fma", 32),
    ("x86_64", "sapphirerapids", "+avx512f,+avx2,+fma", 32),
    ("x86_64", "znver2", "-avx512f,+avx2,+fma", 16),
    ("x86_64", "x86-64", "+sse2", 16),
    ("aarch64", "neoverse-v1", "+neon", 32),
    ("riscv64", "generic-rv64", "+v", 32),
]


def table_blocks(arch, cpu, features):
    return blocking.block(arch, cpu, blocking.enabled(features))


@pytest.mark.parametrize("arch, cpu, features, registers", TABLE)
def test_the_register_block_fits_the_register_file(arch, cpu, features, registers):
    blocks = table_blocks(arch, cpu, features)
    assert set(blocks) == {"float64", "float32"}
    for rows, vectors, bits in blocks.values():
        assert rows * vectors + vectors + 1 <= registers  # accumulators, B's row, a broadcast
        assert rows * vectors >= 8  # enough chains to hide FMA latency
        assert bits in (128, 256, 512)


def test_features_are_read_as_a_set_not_as_substrings():
    # fma4 is not fma, avx512fp16 is not avx512f: an AMD CPU with only FMA4 has no FMA3
    assert blocking.enabled("+fma4,+avx2,-fma,+avx512fp16") == {"fma4", "avx2", "avx512fp16"}
    assert table_blocks("x86_64", "bdver1", "+avx,+fma4") == blocking.both((4, 2, 128))
    assert table_blocks("x86_64", "x", "+avx512fp16,+avx2,+fma")["float64"][2] == 256


def test_the_block_follows_numbas_target(monkeypatch):
    from numba.core import config

    monkeypatch.setattr(config, "CPU_NAME", "generic")
    monkeypatch.setattr(config, "CPU_FEATURES", "+sse2,-avx2,-fma,-avx512f")
    arch, cpu, features = blocking.target()
    assert (cpu, features) == ("generic", {"sse2"})
    if arch == "x86_64":
        assert blocking.block(arch, cpu, features) == blocking.both((4, 2, 128))


def test_a_forced_block_is_parsed_or_refused_by_name(monkeypatch):
    monkeypatch.setenv("KERNELS_BLOCK", "5x2x256")
    assert blocking.chosen() == (blocking.both((5, 2, 256)), "KERNELS_BLOCK")
    monkeypatch.setenv("KERNELS_BLOCK", "float64:8x3x512,float32:4x6x512")
    assert blocking.chosen()[0] == {"float64": (8, 3, 512), "float32": (4, 6, 512)}
    for bad in ("5x2", "axbxc", "0x2x256", "4x3x384", "float16:4x3x256", "float64:4x3x256"):
        with pytest.raises(ValueError, match="MRxNVxBITS|BITS 128|float64 or float32|both"):
            blocking.parse(bad)


def test_the_l2_is_read_from_linuxs_description_of_the_caches(tmp_path):
    def cache(index, level, size):
        (tmp_path / index).mkdir()
        (tmp_path / index / "level").write_text(f"{level}\n")
        (tmp_path / index / "size").write_text(f"{size}\n")

    assert blocking.l2_bytes(tmp_path) is None  # no caches described (not Linux)
    cache("index0", 1, "48K")
    cache("index3", 3, "32768K")
    assert blocking.l2_bytes(tmp_path) is None
    cache("index2", 2, "2048K")
    assert blocking.l2_bytes(tmp_path) == 2 * 2**20
    (tmp_path / "index2" / "size").write_text("1M\n")
    assert blocking.l2_bytes(tmp_path) == 2**20


FORGED = """
import numpy as np
from kernels.ops import microkernel as mk
assert mk.BLOCKS == {blocks}, mk.BLOCKS
rng = np.random.default_rng(0)
for dtype in (np.float64, np.float32):
    w = mk.lanes(dtype)
    mr, nv, _ = mk.BLOCKS[np.dtype(dtype).name]
    for M, P, N in ((1, 1, 1), (mr + 1, 7, nv * w + 1), (2 * mr - 1, 37, 2 * nv * w - 1),
                    (13, 50, 3 * w)):
        A, B = rng.standard_normal((M, P)).astype(dtype), rng.standard_normal((P, N)).astype(dtype)
        C = mk.product(A, B, np.full((M, N), np.nan, dtype))
        tol = 1e-12 if dtype == np.float64 else 1e-4
        np.testing.assert_allclose(C, A.astype(np.float64) @ B, rtol=tol, atol=tol)
print("ok")
"""
FORCED = sorted(
    {b for a, c, f, _ in TABLE for b in table_blocks(a, c, f).values()}
    | {(5, 2, 256), (12, 1, 256)}
)


@pytest.mark.parametrize("pair", list(zip(FORCED, FORCED[1:] + FORCED[:1])))
def test_every_block_of_the_table_computes_the_product_here(pair, tmp_path):
    """Each block compiled and run on this CPU (LLVM splits a 512-bit vector on an AVX2
    machine), for each dtype, on the tails of its rows and vectors: a block wrong on a
    CPU nobody here has is caught anyway. Its own numba cache, so the user's is left as
    it was."""
    blocks = {"float64": pair[0], "float32": pair[1]}
    forced = ",".join(f"{d}:{'x'.join(map(str, b))}" for d, b in blocks.items())
    env = dict(os.environ, KERNELS_BLOCK=forced, NUMBA_CACHE_DIR=str(tmp_path))
    out = subprocess.run(
        [sys.executable, "-c", FORGED.format(blocks=blocks)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
