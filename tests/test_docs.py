"""The figures people read come from the committed JSON: every page of docs/results and
the README's results table are what benchmarks/write_docs.py writes from it."""

import json

import pytest

from benchmarks import write_docs


@pytest.mark.parametrize("path", sorted(write_docs.outputs(), key=str), ids=lambda p: p.name)
def test_result_pages_agree_with_their_json(path):
    assert path.read_text() == write_docs.outputs()[path], (
        f"{path.name} differs from its JSON: run python -m benchmarks.write_docs"
    )


def test_readme_is_short():
    assert len((write_docs.ROOT / "README.md").read_text().splitlines()) <= 220


def test_readme_quick_start_prints_what_it_says(capsys):
    """The README's Python example runs as written and prints the line the README quotes."""
    text = (write_docs.ROOT / "README.md").read_text()
    code = text.split("## Quick start", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    assert f"prints `{printed}`" in " ".join(text.split())


REPORTS = sorted((write_docs.RESULTS).glob("report-*.json"))


@pytest.mark.parametrize("path", REPORTS, ids=lambda p: p.name)
def test_every_committed_report_reads_back_typed(path):
    """Reports committed since the first load as a typed Report (fields added later take
    their defaults), survive a JSON round trip, and render."""
    from kernels.bench.renderers import render
    from kernels.bench.rows import Report

    report = Report.load(path)
    assert report.rows and all(r.seconds_per_epoch > 0 for r in report.rows)
    assert Report.from_json(report.to_json()) == report
    page = render.markdown(report)
    assert all(f"## {kernel}:" in page for kernel in report.kernels)


def test_the_scaling_sweep_reads_back_as_points():

    from kernels.bench.points import Point, points_of

    sweep = json.loads((write_docs.RESULTS / "scaling" / "scaling.json").read_text())
    points = points_of(sweep)
    assert points and all(isinstance(p, Point) and p.seconds_per_example > 0 for p in points)


def test_the_designs_layout_names_every_module_and_only_those():
    """docs/design.md section 8 draws the tree: every module of the package is named
    there (its file name, or its folder's line), and every .py named there exists."""
    import re

    root = write_docs.ROOT
    text = (root / "docs" / "design.md").read_text()
    tree = text.split("## 8. Layout and how to extend it", 1)[1].split("```")[1]
    words = set(re.findall(r"[A-Za-z_]+(?:\.py)?", tree))
    for path in (root / "kernels").rglob("*.py"):
        if path.name == "__init__.py":
            continue
        assert path.name in words or path.stem in words, f"{path} is not in section 8"
    for name in re.findall(r"[a-z_]+\.py", tree):
        assert list(root.glob(f"**/{name}")), f"section 8 names {name}, which does not exist"


def test_write_docs_check_without_the_readme_markers_is_one_line(tmp_path, monkeypatch):
    from benchmarks import write_docs

    (tmp_path / "README.md").write_text("# kernels\n\nno results block here\n")
    monkeypatch.setattr(write_docs, "ROOT", tmp_path)
    with pytest.raises(SystemExit) as stop:
        write_docs.main(["--check"])
    line = str(stop.value.code)
    assert line.startswith("write_docs: README.md has no results block") and "\n" not in line


def test_single_runs_of_the_noise_study_are_one_figure_not_a_range():
    from benchmarks.write_docs import span

    assert span([5.31, 5.34], ".1f") == "5.3" and span([5.3, 5.8], ".1f") == "5.3-5.8"
