"""compare's verdicts as a person reads them: one row per benchmark, under 80 columns."""

from __future__ import annotations

from .tables import titled


def short(benchmark: str) -> str:
    """asv's full name of a benchmark -> its parameter ("kernel backend")."""
    return benchmark.split("(")[-1].rstrip(")")


def table(records: list[dict]):
    t = titled("HEAD against BASE (x reference, lower is better)")
    for col in ("benchmark", "base", "head", "ratio", "p", "spread", "verdict"):
        t.add_column(
            col, justify="left" if col in ("benchmark", "verdict") else "right", overflow="fold"
        )
    for r in records:
        name = short(r["benchmark"])
        t.add_row(
            name,
            f"{r['base']:.4g}",
            f"{r['head']:.4g}",
            f"{r['ratio']:.3f}",
            f"{min(r['p_slower'], r['p_faster']):.1g}",
            f"{r['spread']:.0%}",
            r["verdict"],
        )
    return t
