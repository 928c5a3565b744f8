"""The README's promise, kept by a test: a backend is one module and one line, a kernel
is one folder and one Spec.

A copy of the project gets, as a user would add them, (1) a new backend of softmax:
a copy of the numpy module plus one ``register(...)`` line appended to
kernels/shipped.py; (2) a new kernel, ``relu_demo`` (elementwise max(x, 0) of the images):
a folder in kernels/ops with a numpy and a plain-Python backend, one ``register`` line
each, and its Spec appended to kernels/bench/specs.py. Nothing else is edited. In
processes that import that copy, the registry lists them, the project's equality tests
and the pytest-benchmark cases collect and pass them, the report and the scaling sweep
time them, autotune counts them among its candidates, asv has their classes and every
plot has a colour for them."""

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
REGISTER = """
register("softmax", "copied-numpy", "kernels.ops.softmax.copied_vectorized:softmax")
register("relu_demo", "python", "kernels.ops.relu_demo.loops:relu", slow=True)
register("relu_demo", "numpy", "kernels.ops.relu_demo.vectorized:relu")
"""
SPEC = """
SPECS["relu_demo"] = Spec(build=lambda X, y, K, dh: {"blocks": blocks(X, K)}, call=_call_blocks,
                     slice=20, bound="bytes", streams=True,
                     flop=lambda N, calls, dh, itemsize, pixels: 1.0 * N * pixels,
                     bytes=lambda N, calls, dh, itemsize, pixels: 2.0 * N * pixels * itemsize)
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
    (ops / "relu_demo").mkdir()
    for name, text in RELU.items():
        (ops / "relu_demo" / name).write_text(textwrap.dedent(text).lstrip())
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
        print(json.dumps({
            "kernels": kernels.KERNELS, "relu_demo": kernels.available("relu_demo"),
            "softmax": kernels.available("softmax"),
            "candidates": {k: passes.candidates(k) for k in ("softmax", "relu_demo")},
            "asv": {c: bench_epochs.__dict__[c].params for c in ("Softmax", "ReluDemo")},
            "colours": {b: c for b, (c, _) in styles().items()}}))
        """,
    )
    assert facts["kernels"][-1] == "relu_demo" and facts["relu_demo"] == ["python", "numpy"]
    assert facts["softmax"][-1] == "copied-numpy"
    assert "copied-numpy" in facts["candidates"]["softmax"]
    assert facts["candidates"]["relu_demo"] == ["numpy"]
    assert "copied-numpy" in facts["asv"]["Softmax"][0] and facts["asv"]["ReluDemo"] == [["numpy"]]
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
        "copied-numpy or relu",
        f"--junitxml={report}",
        "tests/test_equality.py",
        "tests/test_softmax.py",
        "benchmarks/test_epochs.py",
    )
    cases = ET.parse(report).getroot().iter("testcase")
    outcome = {f"{c.get('classname')}::{c.get('name')}": [e.tag for e in c] for c in cases}
    for file, name in (
        ("test_equality", "relu_demo-python-numpy"),
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
    run(
        extended,
        "-m",
        "kernels",
        "report",
        "--quick",
        "--kernels",
        "softmax,relu_demo",
        "--examples",
        "300",
        "--peers",
        "",
        "--out",
        str(out / "report"),
    )
    rows = json.loads((out / "report" / "report.json").read_text())["rows"]
    timed = {(r["kernel"], r["backend"]) for r in rows}
    assert {("softmax", "copied-numpy"), ("relu_demo", "numpy"), ("relu_demo", "python")} <= timed
    run(
        extended,
        "-m",
        "kernels",
        "scaling",
        "--quick",
        "--kernels",
        "relu_demo",
        "--out",
        str(out / "scaling"),
    )
    points = json.loads((out / "scaling" / "scaling.json").read_text())["points"]
    assert {
        p["backend"] for p in points if p["kernel"] == "relu_demo" and p["seconds_per_call"]
    } == {"python", "numpy"}
