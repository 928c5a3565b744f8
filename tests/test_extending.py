"""The README's promise, kept by a test: a backend is one module and one line, a kernel
is one folder and one Spec.

A copy of the project gets, as a user would add them, (1) a new backend of softmax:
a copy of the numpy module plus one ``register(...)`` line appended to
kernels/shipped.py; (2) a new kernel, ``relu_demo`` (elementwise max(x, 0) of the images):
a folder in kernels/ops with a numpy and a plain-Python backend, one ``register`` line
each, and its Spec appended to kernels/bench/specs.py; (3) a kernel of two inputs with an
axis of its own, ``scale_demo`` (each example's features times a weight per feature, over
the first ``width`` pixels), added the same way, its Spec declaring the ``width`` axis.
Nothing else is edited. In processes that import that copy, the registry lists them, the
project's equality tests and the pytest-benchmark cases collect and pass them, the report
and the scaling sweep time them (the sweep along ``width`` too, and the report at a
``--size width=``), autotune counts them among its candidates, asv has their classes
(``scale_demo``'s per width) and every plot has a colour for them."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

RELU = {
    "__init__.py": '''
        """relu: ``max(x, 0)`` elementwise over a batch of images (a test's new kernel)."""
        from .. import ArrayKernel
        from ..host import real_array


        def prepare(x):
            a = real_array(x, "relu_demo", "images")
            return (a[None] if a.ndim == 1 else a), a.ndim == 1


        kernel = ArrayKernel("relu_demo", prepare, "max(x, 0) elementwise.")
        ''',
    "vectorized.py": '''
        import numpy as np

        from . import kernel


        @kernel
        def relu(a, out):
            """np.maximum."""
            np.maximum(a, 0, out=out)
        ''',
    "loops.py": '''
        from . import kernel


        @kernel
        def relu(a, out):
            """plain Python loops."""
            for i in range(a.shape[0]):
                for j in range(a.shape[1]):
                    out[i, j] = a[i, j] if a[i, j] > 0 else 0.0
        ''',
}
SCALE = {
    "__init__.py": '''
        """scale: ``x[i, j] w[j]``, each example's features times a weight per feature."""
        from .. import ArrayKernel
        from ..host import real_array


        def prepare(x, w):
            a, v = real_array(x, "scale_demo", "rows"), real_array(w, "scale_demo", "weights")
            if a.ndim != 2 or v.shape != a.shape[1:] or v.dtype != a.dtype:
                raise ValueError(f"scale_demo takes (N, d) rows and (d,) weights of their dtype")
            return (a, v), False


        kernel = ArrayKernel("scale_demo", prepare, "x[i, j] w[j].")
        ''',
    "vectorized.py": '''
        import numpy as np

        from . import kernel


        @kernel
        def scale(a, w, out):
            """np.multiply, broadcast."""
            np.multiply(a, w, out=out)
        ''',
    "loops.py": '''
        from . import kernel


        @kernel
        def scale(a, w, out):
            """plain Python loops."""
            for i in range(a.shape[0]):
                for j in range(a.shape[1]):
                    out[i, j] = a[i, j] * w[j]
        ''',
}
REGISTER = """
register("softmax", "copied-numpy", "kernels.ops.softmax.copied_vectorized:softmax")
register("relu_demo", "python", "kernels.ops.relu_demo.loops:relu", slow=True)
register("relu_demo", "numpy", "kernels.ops.relu_demo.vectorized:relu")
register("scale_demo", "python", "kernels.ops.scale_demo.loops:scale", slow=True, role="reference")
register("scale_demo", "numpy", "kernels.ops.scale_demo.vectorized:scale", role="baseline")
"""
SPEC = """
SPECS["relu_demo"] = Spec(build=lambda X, y, K, sizes: {"blocks": blocks(X, K)},
                     call=_call_blocks, slice=20, bound="bytes", streams=True,
                     flop=lambda N, calls, itemsize, sizes: 1.0 * N * 784,
                     bytes=lambda N, calls, itemsize, sizes: 2.0 * N * 784 * itemsize)

WIDTH = Axis("width", 784, (196, 392, 784), (196, 784), "features per example", asv=(392,))


def _scaled(X, y, K, sizes):
    w = np.linspace(0.5, 1.5, sizes["width"], dtype=X.dtype)
    return {"blocks": blocks(X[:, : sizes["width"]], K), "w": w}


def _call_scaled(fn, inputs, batches, out):
    K = len(inputs["blocks"][0])
    for i, x in enumerate(inputs["blocks"][:batches]):
        if out is None:
            result = fn(x, inputs["w"])
        else:
            result = fn(x, inputs["w"], out=out[i * K : i * K + len(x)])
    return result


SPECS["scale_demo"] = Spec(build=_scaled, call=_call_scaled, slice=20, bound="bytes",
                      streams=True, axes=(WIDTH,),
                      flop=lambda N, calls, itemsize, sizes: 1.0 * N * sizes["width"],
                      bytes=lambda N, calls, itemsize, sizes: 2.0 * N * sizes["width"] * itemsize)
"""


@pytest.fixture(scope="module")
def extended(tmp_path_factory) -> Path:
    """A copy of the project with the new backend and the new kernel added."""
    root = tmp_path_factory.mktemp("extended")
    skip = shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc", ".asv")
    for part in ("kernels", "tests", "benchmarks"):
        shutil.copytree(ROOT / part, root / part, ignore=skip)
    for name in ("pyproject.toml", "asv.conf.json"):
        shutil.copy(ROOT / name, root)
    ops = root / "kernels" / "ops"
    shutil.copy(ops / "softmax" / "vectorized.py", ops / "softmax" / "copied_vectorized.py")
    for folder, files in (("relu_demo", RELU), ("scale_demo", SCALE)):
        (ops / folder).mkdir(exist_ok=True)
        for name, text in files.items():
            (ops / folder / name).write_text(textwrap.dedent(text).lstrip())
    with open(root / "kernels" / "shipped.py", "a") as f:
        f.write(REGISTER)
    with open(root / "kernels" / "bench" / "specs.py", "a") as f:
        f.write(SPEC)
    return root


def run(root: Path, *args, timeout=600) -> str:
    env = {**os.environ, "PYTHONPATH": str(root), "NUMBA_CACHE_DIR": str(root / "numba-cache")}
    out = subprocess.run(
        [sys.executable, *args], cwd=root, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout


def python(root: Path, code: str):
    """The JSON that ``code`` prints, run in a process importing the copy."""
    return json.loads(run(root, "-c", textwrap.dedent(code)).splitlines()[-1])


def test_the_registry_and_the_harness_tables_list_them(extended):
    facts = python(
        extended,
        """
        import json, os, kernels
        from kernels.registry import styles
        from kernels.bench.experiments import passes
        from benchmarks import bench_epochs
        assert kernels.__file__.startswith(os.environ["PYTHONPATH"])   # the copy
        new = ("softmax", "relu_demo", "scale_demo")
        asv = {c: bench_epochs.__dict__[c] for c in ("Softmax", "ReluDemo", "ScaleDemo")}
        print(json.dumps({
            "kernels": kernels.KERNELS, **{k: kernels.available(k) for k in new},
            "candidates": {k: passes.candidates(k) for k in new},
            "asv": {c: [cls.params, cls.param_names] for c, cls in asv.items()},
            "colours": {b: c for b, (c, _) in styles().items()}}))
        """,
    )
    assert facts["kernels"][-2:] == ["relu_demo", "scale_demo"]
    assert facts["relu_demo"] == facts["scale_demo"] == ["python", "numpy"]
    assert facts["softmax"][-1] == "copied-numpy"
    assert "copied-numpy" in facts["candidates"]["softmax"]
    assert facts["candidates"]["relu_demo"] == facts["candidates"]["scale_demo"] == ["numpy"]
    asv = facts["asv"]
    assert "copied-numpy" in asv["Softmax"][0][0] and asv["ReluDemo"][0] == [["numpy"]]
    assert asv["ScaleDemo"] == [[["numpy"], [784, 392]], ["backend", "width"]]
    colours = facts["colours"]
    assert len(set(colours.values())) == len(colours) and "copied-numpy" in colours


def test_the_projects_tests_collect_and_pass_them(extended):
    report = extended / "junit.xml"
    run(
        extended,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-k",
        "copied-numpy or relu or scale_demo",
        f"--junitxml={report}",
        "tests/test_equality.py",
        "tests/test_softmax.py",
        "benchmarks/test_epochs.py",
    )
    cases = ET.parse(report).getroot().iter("testcase")
    outcome = {f"{c.get('classname')}::{c.get('name')}": [e.tag for e in c] for c in cases}
    for file, name in (
        ("test_equality", "relu_demo-python-numpy"),
        ("test_equality", "scale_demo-python-numpy"),
        ("test_epochs", "scale_demo-numpy"),
        ("test_equality", "softmax-numpy-copied-numpy"),
        ("test_epochs", "relu_demo-numpy"),
        ("test_epochs", "softmax-copied-numpy"),
        ("test_softmax", "copied-numpy"),
    ):
        found = [k for k in outcome if file in k and name in k]
        assert found, (file, name, sorted(outcome))
        assert not {"failure", "error"} & {t for k in found for t in outcome[k]}, found
        assert any(not outcome[k] for k in found), found  # passed (not all skipped)


def test_the_report_and_the_scaling_sweep_time_them(extended):
    out = extended / "results"
    argv = "report --quick --kernels softmax,relu_demo,scale_demo --examples 300 --size width=392"
    run(extended, "-m", "kernels", *argv.split(), "--peers", "", "--out", str(out / "report"))
    rows = json.loads((out / "report" / "report.json").read_text())["rows"]
    timed = {(r["kernel"], r["backend"]) for r in rows}
    assert {("softmax", "copied-numpy"), ("relu_demo", "numpy"), ("relu_demo", "python")} <= timed
    scaled = [r for r in rows if r["kernel"] == "scale_demo"]
    assert {r["backend"] for r in scaled} == {"python", "numpy"}
    assert all(r["sizes"] == {"width": 392} and r["pct_of_limit"] for r in scaled)
    argv = "scaling --quick --kernels relu_demo,scale_demo"
    run(extended, "-m", "kernels", *argv.split(), "--out", str(out / "scaling"))
    sweep = json.loads((out / "scaling" / "scaling.json").read_text())
    timed = [p for p in sweep["points"] if p["seconds_per_call"]]
    assert {p["backend"] for p in timed if p["kernel"] == "relu_demo"} == {"python", "numpy"}
    widths = {(p["backend"], p["sizes"]["width"]) for p in timed if p["kernel"] == "scale_demo"}
    assert {("numpy", 196), ("numpy", 784), ("python", 196)} <= widths
    assert sweep["grid"]["width"] == [196, 784]
    assert (out / "scaling" / "scaling-width-float64.png").stat().st_size > 0
