"""What autotune measured, as a person reads it: the picks per kernel, dtype and K, and
the machine's thread pool (``python -m kernels autotune`` and its ``--show``)."""

from __future__ import annotations

from ...select import choose_from, pool_reliable, reference
from .tables import titled


def winners(measured: dict):
    """Rows ``(kernel, dtype, K, pick, margin, spread, why)``: what ``fastest`` picks from
    this record, the fastest backend's margin over the ranked one and its spread."""
    results, spread = measured["results"], measured["spread"]
    threads = pool_reliable(measured)
    for kernel, by_dtype in results.items():
        for dtype, by_size in by_dtype.items():
            for size, timings in sorted(by_size.items(), key=lambda kv: int(kv[0])):
                point = spread.get(kernel, {}).get(dtype, {}).get(size, {})
                pick, why = choose_from(kernel, timings, point, f"{dtype}, K = {size}", threads)
                best = min(timings, key=timings.get)
                first = reference(kernel, timings)
                margin = timings[first] / timings[best] if first in timings else None
                yield kernel, dtype, int(size), pick, margin, point.get(best, 0.0), why


LEGEND = (
    "best: the fastest backend's margin over the shipped ranking's choice; spread: "
    "(max - min) / min of the per-pass ratios of the two; a pick overrides the ranking "
    "only when the margin exceeds 1 + spread, otherwise tie"
)


def table(measured: dict):
    """A rich Table of the picks, under 80 columns."""
    t = titled("what kernels.fastest picks per kernel, dtype and minibatch size K")
    for col, justify in (
        ("kernel", "left"),
        ("dtype", "left"),
        ("K", "right"),
        ("pick", "left"),
        ("best", "right"),
        ("spread", "right"),
    ):
        t.add_column(col, justify=justify)
    for kernel, dtype, size, pick, margin, spread, why in winners(measured):
        left = measured.get("noise", {}).get(kernel, {}).get(dtype, {}).get(str(size), {})
        mark = " (tie)" if "tie" in why else ""
        mark += " *" if left.get("left_out") else ""
        t.add_row(
            kernel,
            dtype,
            str(size),
            pick + mark,
            "" if margin is None else f"{margin:.2f}x",
            f"{spread:.1%}",
        )
    return t


def machine_lines(measured: dict) -> list[str]:
    """What the record says of the machine beside the picks: its thread pool, and the
    points decided on fewer candidates or left undecided."""
    pool = measured.get("machine", {})
    lines = [
        f"numba's thread pool here: {pool.get('thread_pool', 'not measured')}"
        + (f" ({pool['why']})" if pool.get("why") else "")
    ]
    if measured.get("blocks"):
        lines.append(
            "numba's register blocks, measured here (MR x NV x bits): "
            + ", ".join(f"{d} {'x'.join(map(str, b))}" for d, b in measured["blocks"].items())
        )
    if measured.get("stores"):
        lines.append(f"numba's streaming outputs, measured here: {measured['stores']} stores")
    if measured.get("tails"):
        lines.append(
            "numba's epoch, measured here: column tails through BLAS of at most "
            + ", ".join(f"{d} {n}" for d, n in measured["tails"].items())
            + " columns (more: padded to a whole vector)"
        )
    if measured.get("cached"):
        lines.append(
            "numba's epoch, measured here: a minibatch's x counted as cached up to "
            + ", ".join(f"{d} {b / 2**20:.2f} MiB" for d, b in measured["cached"].items())
            + " (more: read ahead)"
        )
    for kernel, by_dtype in measured.get("noise", {}).items():
        for dtype, by_size in by_dtype.items():
            for size, seen in by_size.items():
                if seen.get("left_out"):
                    lines.append(
                        f"* {kernel} {dtype} K = {size}: decided without "
                        f"{', '.join(seen['left_out'])} (fork/join "
                        f"{seen['fork_join']:.1f}x its best)"
                    )
                if seen.get("undecided"):
                    lines.append(f"{kernel} {dtype} K = {size}: undecided, {seen['undecided']}")
    return lines
