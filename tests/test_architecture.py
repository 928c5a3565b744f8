"""The house's import rules (pyproject.toml, [tool.importlinter]): layers, the library
never importing the benchmarks, no cycle between sibling modules."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    pytest.importorskip("importlinter")
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command; lint_imports_command()",
            "--no-cache",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command; lint_imports_command()",
            "--no-cache",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(root)},
    )


@pytest.mark.parametrize(
    "module,line",
    [
        ("kernels/ops/mlp/gradcheck.py", "    from ...registry import get\n"),
        ("kernels/ops/softmax/vectorized.py", "    from kernels.select import fastest\n"),
    ],
)
def test_a_kernel_importing_the_registry_breaks_a_contract(tmp_path, module, line):
    """The rule holds even for an import inside a function (where a cycle would hide)."""
    pytest.importorskip("importlinter")
    for part in ("kernels", "benchmarks"):
        shutil.copytree(
            ROOT / part,
            tmp_path / part,
            ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"),
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    assert lint(tmp_path).returncode == 0  # the copy as it is keeps every rule
    with open(tmp_path / module, "a") as f:
        f.write(f"\n\ndef planted():\n{line}")
    out = lint(tmp_path)
    assert out.returncode != 0, out.stdout


def test_no_python_file_is_over_300_lines():
    """A file a reader can hold in mind (issue 30): split it where its jobs part."""
    long = {
        str(path.relative_to(ROOT)): n
        for part in ("kernels", "benchmarks", "tests")
        for path in (ROOT / part).rglob("*.py")
        if (n := len(path.read_text().splitlines())) > 300
    }
    assert not long, long


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]])
def test_the_code_keeps_the_linter_and_the_formatter(command):
    """ruff's rules and format (pyproject.toml, [tool.ruff]): one style, and lines of at
    most 100 columns, so that no cap is met by widening lines."""
    pytest.importorskip("ruff")
    out = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_data_command_imports_neither_the_harness_nor_the_training_tool():
    """`python -m kernels data --help` loads what the command line and data need only."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from kernels.cli import main\n"
            "try:\n    main(['data', '--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith(('kernels', 'numba', 'matp'))))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    loaded = out.stdout.strip().splitlines()[-1]
    assert "kernels.cli.data" in loaded
    for heavy in ("kernels.bench", "kernels.app", "numba", "matplotlib"):  # quoted names
        assert f"'{heavy}" not in loaded, loaded


def test_the_virtual_environment_is_ignored_by_git():
    out = subprocess.run(["git", "check-ignore", "-q", ".venv/"], cwd=ROOT)
    assert out.returncode == 0
