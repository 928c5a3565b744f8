"""Write the result tables people read from the committed report JSON, so they never
drift from the measurements: one page per measured machine in docs/results/, and the
headline table in the README (between its ``results`` markers).

    python -m benchmarks.write_docs            # rewrite them
    python -m benchmarks.write_docs --check    # exit 1 if any differs (tests/test_docs.py)
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kernels.bench import render

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
# page in docs/results <- (report JSON in benchmarks/results, the date it was measured)
PAGES = {
    "intel-xeon-2026-11-29.md": ("report-xeon-2026-11-29.json", "2026-11-29"),
    "amd-epyc-2026-11-23.md": ("report-epyc-float64-variants.json", "2026-11-23"),
}
HEADLINE = "intel-xeon-2026-11-29.md"          # the README's table and chart
BEGIN, END = "<!-- results:begin (benchmarks/write_docs.py) -->", "<!-- results:end -->"
STRATEGIES = ("python", "numpy", "numba", "jax")


def load(name: str) -> dict:
    return json.loads((RESULTS / name).read_text())


def page(name: str) -> str:
    source, date = PAGES[name]
    result = load(source)
    return (f"<!-- written by benchmarks/write_docs.py from benchmarks/results/{source}; "
            f"do not edit -->\n"
            f"Measured {date} with `python -m kernels report` on {result['machine']['cpu']}.\n\n"
            + render.markdown(result))


def headline() -> str:
    """The README's table: seconds per epoch of the 2 x 2 (streaming rows for the kernels
    that have them) and the best backend's % of its physical limit."""
    source, date = PAGES[HEADLINE]
    result = load(source)
    m = result["machine"]
    lines = [BEGIN, "",
             f"Seconds per Fashion-MNIST epoch (60,000 examples, K = 100, float64, one pinned "
             f"core; lower is better), {m['cpu']}, {date} "
             f"([all rows](docs/results/{HEADLINE})):", "",
             "| kernel | " + " | ".join(STRATEGIES) + " | best, % of limit |",
             "|---|" + "--:|" * len(STRATEGIES) + "---|"]
    for kernel in render.kernels_of(result):
        rows = {r["backend"]: r for r in result["rows"] if r["kernel"] == kernel and not r["peer"]
                and r["mode"] in ("", "streaming", "cache-hot" if r["backend"] == "python" else "")}
        cells = [("~" if rows[b]["extrapolated"] else "") + f"{rows[b]['seconds_per_epoch']:.3g}"
                 if b in rows else "" for b in STRATEGIES]
        best = min(rows.values(), key=lambda r: r["seconds_per_epoch"])
        pct = "disturbed" if best.get("disturbed") else f"{best['pct_of_limit']:.0f} %"
        lines.append(f"| {kernel} | " + " | ".join(cells) + f" | {best['backend']}, {pct} |")
    lines += ["", "~ extrapolated from the first minibatches (plain Python).", "", END]
    return "\n".join(lines)


def readme(text: str) -> str:
    """``text`` (the README) with its results block replaced."""
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[:start] + headline() + text[end:]


def outputs() -> dict[Path, str]:
    """Every file this script writes, with its content."""
    files = {ROOT / "docs" / "results" / name: page(name) for name in PAGES}
    files[ROOT / "README.md"] = readme((ROOT / "README.md").read_text())
    return files


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.write_docs")
    parser.add_argument("--check", action="store_true", help="exit 1 if a file differs")
    args = parser.parse_args(argv)
    stale = []
    for path, text in outputs().items():
        if not path.exists() or path.read_text() != text:
            stale.append(path)
            if not args.check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    verb = "differ from the results" if args.check else "written"
    print(f"{len(stale)} file(s) {verb}: " + ", ".join(str(p.relative_to(ROOT)) for p in stale))
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
