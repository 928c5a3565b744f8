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

from benchmarks.noise_study import EXPECTED
from kernels.bench.experiments.verdicts import FALSE_ALARMS as alarms
from kernels.bench.experiments.verdicts import MIN_EFFECT as effect
from kernels.bench.experiments.verdicts import verdicts
from kernels.bench.renderers import render
from kernels.bench.renderers.compare_table import short
from kernels.bench.rows import Report

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
# page in docs/results <- (report JSON in benchmarks/results, the date it was measured)
PAGES = {
    "intel-xeon-2026-12-06.md": ("report-xeon-2026-12-06.json", "2026-12-06"),
    "amd-epyc-zen4-2026-12-04.md": ("report-epyc-zen4-2026-12-04.json", "2026-12-04"),
    "intel-xeon-2026-11-29.md": ("report-xeon-2026-11-29.json", "2026-11-29"),
    "amd-epyc-2026-11-23.md": ("report-epyc-float64-variants.json", "2026-11-23"),
}
# page in docs/results <- a study of benchmarks/noise_study.py in benchmarks/results/noise-study
NOISE_STUDIES = {
    "noise-study-xeon-2026-11-30.md": "noise-study-2026-11-30.json",
    "noise-study-xeon-9-rounds-2026-11-30.md": "noise-study-9-rounds-2026-11-30.json",
    "noise-study-epyc-zen4-alternating-2026-12-04.md": "noise-study-alternating-2026-12-04.json",
}
HEADLINE = "amd-epyc-zen4-2026-12-04.md"  # the README's table and chart
BEGIN, END = "<!-- results:begin (benchmarks/write_docs.py) -->", "<!-- results:end -->"
STRATEGIES = ("python", "numpy", "numba", "jax")


def load(name: str) -> dict:
    return json.loads((RESULTS / name).read_text())


def page(name: str) -> str:
    source, date = PAGES[name]
    result = Report.load(RESULTS / source)
    return (
        f"<!-- written by benchmarks/write_docs.py from benchmarks/results/{source}; "
        f"do not edit -->\n"
        f"Measured {date} with `python -m kernels report` on {result.machine['cpu']}.\n\n"
        + render.markdown(result)
    )


def headline() -> str:
    """The README's table: seconds per epoch of the 2 x 2 (streaming rows for the kernels
    that have them) and the best backend's % of its physical limit; then which backend
    is fastest in each kernel, in words (so that no sentence claims a winner the table
    does not show)."""
    source, date = PAGES[HEADLINE]
    result = Report.load(RESULTS / source)
    m = result.machine
    lines = [
        BEGIN,
        "",
        f"Seconds per Fashion-MNIST epoch (60,000 examples, K = 100, float64, one pinned "
        f"core; lower is better), {m['cpu']}, {date} "
        f"([all rows](docs/results/{HEADLINE})):",
        "",
        "| kernel | " + " | ".join(STRATEGIES) + " | best, % of limit |",
        "|---|" + "--:|" * len(STRATEGIES) + "---|",
    ]
    winners: dict[str, list[str]] = {}
    for kernel in result.kernels:
        rows = {
            r.backend: r
            for r in result.rows_of(kernel, peers=False)
            if r.mode in ("", "streaming", "cache-hot" if r.backend == "python" else "")
        }
        cells = [
            ("~" if rows[b].extrapolated else "") + f"{rows[b].seconds_per_epoch:.3g}"
            if b in rows
            else ""
            for b in STRATEGIES
        ]
        best = min(rows.values(), key=lambda r: r.seconds_per_epoch)
        pct = "disturbed" if best.disturbed else f"{best.pct_of_limit:.0f} %"
        lines.append(f"| {kernel} | " + " | ".join(cells) + f" | {best.backend}, {pct} |")
        winners.setdefault(best.backend, []).append(kernel)
    lines += [
        "",
        "~ extrapolated from the first minibatches (plain Python). Fastest: "
        + "; ".join(f"{b} in {', '.join(ks)}" for b, ks in winners.items())
        + ".",
        "",
        END,
    ]
    return "\n".join(lines)


def condition(neighbour) -> str:
    """A study row's neighbour: True/False in the first studies, a word since."""
    return (
        {True: "on", False: "off"}.get(neighbour, neighbour)
        if isinstance(neighbour, bool)
        else neighbour
    )


def span(values, fmt: str) -> str:
    """``low-high`` of the values as printed; one figure where they print alike."""
    low, high = format(min(values), fmt), format(max(values), fmt)
    return low if low == high else f"{low}-{high}"


def noise_page(name: str) -> str:
    """The noise study's tables: per change and condition how often the verdict was right,
    then every comparison with the changed kernel's ratio and the closest call (the
    unrelated benchmark with the smallest p of being slower). The verdicts are those
    of today's rule (kernels.bench.experiments.compare) on the per-process values the
    study recorded."""
    source = NOISE_STUDIES[name]
    study = load(f"noise-study/{source}")
    m, rows = study["machine"], [_judge(r) for r in study["rows"]]
    n = len(rows[0]["records"])
    lines = [
        f"<!-- written by benchmarks/write_docs.py from benchmarks/results/noise-study/"
        f"{source}; do not edit -->",
        f"Measured {study['date']} with `python -m benchmarks.noise_study`, "
        f"{study['rounds']} asv runs",
        f"of each commit per comparison, on {m['cpu']} ({m['cores']} cores).",
        "Neighbour on: a CPU-bound (dgemm) and a memory-bound (512 MiB copy) process",
        "on the other core; alternating: the same two, 15 s busy and 15 s idle. Ratio: "
        "HEAD / BASE of the medians of the normalised figure",
        f"(lower is better); p: the one-sided rank test's; `slower` when p < {alarms:.2g} / {n}",
        f"(the {n} benchmarks share a {alarms * 100:.0f} % chance of a false alarm) and "
        f"the ratio > {1 + effect:.4g};",
        "right: exactly the changed benchmark flagged (nothing for the README); closest",
        "call: the unrelated benchmark nearest to being flagged; noisy: how many of the",
        "six were `noisy`; widest: the widest spread among them; min: minutes per",
        "comparison.",
        "",
    ]
    groups: dict[tuple, list] = {}
    for r in rows:
        groups.setdefault((r["change"], r["neighbour"]), []).append(r)
    lines += [
        "| change | neighbour | right | changed: ratio | worst p | min |",
        "|---|---|--:|--:|--:|--:|",
    ]
    for (change, neighbour), group in groups.items():
        changed = [r["changed"] for r in group]
        ratio = "-" if changed[0] is None else span([c["ratio"] for c in changed], ".3f")
        worst = "-" if changed[0] is None else f"{max(c['p_slower'] for c in changed):.2g}"
        minutes = [r["seconds"] / 60 for r in group]
        lines.append(
            f"| {change} | {condition(neighbour)} | "
            f"{sum(r['correct'] for r in group)}/{len(group)} | {ratio} | {worst} | "
            f"{span(minutes, '.1f')} |"
        )
    conditions = list(dict.fromkeys(condition(r["neighbour"]) for r in rows))
    names = list(dict.fromkeys(short(x["benchmark"]) for r in rows for x in r["records"]))
    lines += [
        "",
        "Spread of each benchmark's per-process values (p90 - p10 over the median, "
        "without the one most outlying process; the widest of BASE and HEAD), the "
        "widest over the comparisons of each condition:",
        "",
        "| benchmark | " + " | ".join(conditions) + " |",
        "|---|" + "--:|" * len(conditions),
    ]
    for name in names:
        cells = [
            max(
                x["spread"]
                for r in rows
                if condition(r["neighbour"]) == c
                for x in r["records"]
                if short(x["benchmark"]) == name
            )
            for c in conditions
        ]
        lines.append(f"| {name} | " + " | ".join(f"{v:.0%}" for v in cells) + " |")
    for (change, neighbour), group in groups.items():
        lines += [
            "",
            f"## {change}, neighbour {condition(neighbour)}",
            "",
            "| # | exit | changed: ratio | p | closest call | ratio | p | noisy | widest | min |",
            "|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|",
        ]
        for r in group:
            c, other = r["changed"], r["closest"]
            cells = ["-", "-"] if c is None else [f"{c['ratio']:.3f}", f"{c['p_slower']:.2g}"]
            lines.append(
                f"| {r['repetition']} | {int(bool(r['flagged']))} | {cells[0]} | "
                f"{cells[1]} | {short(other['benchmark'])} | {other['ratio']:.3f} | "
                f"{other['p_slower']:.2g} | {sum(x['verdict'] == 'noisy' for x in r['records'])} | "
                f"{max(x['spread'] for x in r['records']):.0%} | {r['seconds'] / 60:.1f} |"
            )
        wrong = [
            f"#{r['repetition']} flagged {', '.join(r['flagged']) or 'nothing'}"
            for r in group
            if not r["correct"]
        ]
        lines += ([""] + [f"Wrong: {w}." for w in wrong]) if wrong else []
    return "\n".join(lines) + "\n"


def _judge(row: dict) -> dict:
    """A comparison of the study judged by today's rule: its records, the benchmarks
    flagged, the changed benchmark's record (None for the README), the closest call and
    whether the verdict was right."""
    records = verdicts(
        {r["benchmark"]: (r["base_values"], r["head_values"]) for r in row["records"]}
    )
    target = EXPECTED[row["change"]]
    changed = next((r for r in records if short(r["benchmark"]) == target), None)
    flagged = [short(r["benchmark"]) for r in records if r["verdict"] == "slower"]
    closest = min((r for r in records if r is not changed), key=lambda r: r["p_slower"])
    return {
        **row,
        "records": records,
        "flagged": flagged,
        "changed": changed,
        "closest": closest,
        "correct": flagged == ([target] if target else []),
    }


def readme(text: str) -> str:
    """``text`` (the README) with its results block replaced; ValueError, naming the
    markers, when the README lacks them."""
    if BEGIN not in text or END not in text or text.index(BEGIN) > text.index(END):
        raise ValueError(
            f"README.md has no results block: put the lines {BEGIN!r} and {END!r} "
            f"where the table belongs"
        )
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[:start] + headline() + text[end:]


def outputs() -> dict[Path, str]:
    """Every file this script writes, with its content."""
    files = {ROOT / "docs" / "results" / name: page(name) for name in PAGES}
    files |= {ROOT / "docs" / "results" / name: noise_page(name) for name in NOISE_STUDIES}
    files[ROOT / "README.md"] = readme((ROOT / "README.md").read_text())
    return files


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.write_docs")
    parser.add_argument("--check", action="store_true", help="exit 1 if a file differs")
    args = parser.parse_args(argv)
    try:
        files = outputs()
    except (ValueError, OSError) as exc:
        raise SystemExit(f"write_docs: {exc}") from None
    stale = []
    for path, text in files.items():
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
