"""The report's variants (numba's epoch at each dtype and thread count, same run, rounds
interleaved) as a table: printed (rich) and in the Markdown page."""

from __future__ import annotations

from .tables import titled


def title(result: dict, machine: dict) -> str:
    return (
        f"same run, rounds interleaved: {result.get('backend', 'numba')} per epoch "
        f"(K = 100) by dtype and threads - {machine['cpu']}"
    )


def columns(result: dict) -> tuple[str, ...]:
    return (
        "kernel",
        "dtype",
        "threads",
        "s / epoch",
        "spread",
        f"x {result['threads'][0]} thr",
        "x float64",
    )


def cells(r: dict) -> list[str]:
    """One variant's row: seconds per epoch (~ where extrapolated), the spread of its
    rounds and its speed-ups over the first thread count and over float64."""
    fmt = lambda v: "" if v is None else f"{v:.2f}"  # noqa: E731
    spread = (r["seconds_max"] - r["seconds_min"]) / r["seconds_per_epoch"]
    return [
        r["kernel"] + (" stream" if r["mode"] == "streaming" else ""),
        r["dtype"],
        str(r["threads"]),
        f"{'~' if r['extrapolated'] else ''}{r['seconds_per_epoch']:.4g}",
        f"{spread:.0%}",
        fmt(r["speedup_vs_threads"]),
        fmt(r["speedup_vs_float64"]),
    ]


def table(result: dict, machine: dict):
    """A rich Table of the variants, under 80 columns."""
    t = titled(title(result, machine))
    for col in columns(result):
        t.add_column(
            col, justify="left" if col in ("kernel", "dtype") else "right", overflow="fold"
        )
    for r in result["rows"]:
        t.add_row(*cells(r))
    return t


def markdown(result: dict, machine: dict) -> list[str]:
    """The variants as Markdown lines: a heading and a table."""
    names = columns(result)
    return [
        f"## {title(result, machine)}",
        "",
        "| " + " | ".join(names) + " |",
        "|---|---|" + "--:|" * (len(names) - 2),
        *("| " + " | ".join(cells(r)) + " |" for r in result["rows"]),
    ]
