"""What ``python -m kernels scaling`` prints: the fitted cost models and the crossovers,
every table under 80 columns."""

from __future__ import annotations

from ..points import Point, points_of
from .render import threads_line
from .tables import titled


def print_summary(result: dict) -> None:
    """The per-example tables of the K axis (one per kernel and dtype), the fitted
    models, the crossovers; every table under 80 columns."""
    from rich.console import Console

    console = Console()
    m = result["machine"]
    console.print(
        f"microseconds per example vs minibatch size K ({result['mode']}); "
        f"{m['cpu']}, {m['threads']} thread(s); ~ a slice of the epoch",
        highlight=False,
    )
    sizes = result["grid"]["K"]
    base = points_of(result, base=True)
    for kernel, dtype in sorted({(p.kernel, p.dtype) for p in base}):
        names = [
            b
            for b in dict.fromkeys(
                p.backend for p in base if (p.kernel, p.dtype) == (kernel, dtype)
            )
        ]
        t = titled(f"{kernel} {dtype}")
        t.add_column("K", justify="right")
        for name in names:  # "numba-\nserial": split at the hyphen, never mid-word
            t.add_column(name.replace("-", "-\n"), justify="right")
        for K in sizes:
            pts = {p.backend: p for p in base if (p.kernel, p.dtype, p.K) == (kernel, dtype, K)}
            t.add_row(
                str(K),
                *[
                    (("~" if pts[b].sliced else "") + f"{1e6 * pts[b].seconds_per_example:.3g}")
                    if b in pts
                    else ""
                    for b in names
                ],
            )
        console.print(t)
    for kernel in dict.fromkeys(fit["kernel"] for fit in result["fits"]):
        fits = [fit for fit in result["fits"] if fit["kernel"] == kernel]
        flop = fits[0]["unit"] == "FLOP/s"
        f = titled(f"{kernel}: cost model, s per call = overhead + work / rate")
        for col in (
            "backend",
            "dtype",
            "us/call",
            "GFLOP/s" if flop else "GB/s",
            "% roof",
            "median",
            "max",
            "pts",
        ):
            f.add_column(col, justify="left" if col in ("backend", "dtype") else "right")
        for fit in fits:
            roof = result["rates"][fit["dtype"]]["peak_flops" if flop else "copy_bandwidth"]
            f.add_row(
                fit["backend"],
                fit["dtype"],
                f"{fit['overhead_us']:.3g}",
                f"{fit['rate'] / 1e9:.3g}",
                f"{100 * fit['rate'] / roof:.3g}",
                f"{100 * fit['median_error']:.0f} %",
                f"{100 * fit['max_error']:.0f} %",
                str(fit["points"]),
            )
        console.print(f)
    console.print(
        "% roof: the fitted rate as % of the machine's roof measured in the run (peak "
        "FLOP/s, or the copy bandwidth for the streaming kernels); over 100 where the "
        "data stays in cache between calls (small K), which the copy's roof does not "
        "count",
        highlight=False,
    )
    console.print("median, max: the fit's relative error over its points", highlight=False)
    busy = [p for p in result["points"] if p.get("busy")]
    if busy:
        worst = max(p["others"] for p in busy)
        console.print(
            f"busy machine: other work took up to {worst:.2f} cores while {len(busy)} of "
            f"{len(result['points'])} points were timed (busy in scaling.json); their "
            f"figures may be slow",
            highlight=False,
        )
    console.print("crossovers (the fastest backend changes between the two sizes):")
    for c in result["crossovers"]:
        console.print(
            f"  {c['kernel']} {c['dtype']}, {c['axis']} {c['between'][0]} -> "
            f"{c['between'][1]}: {c['from']} -> {c['to']}"
        )
    skipped = [p for p in map(Point.read, result["points"]) if p.skipped]
    if skipped:
        console.print(
            f"{len(skipped)} points skipped (too slow), e.g. "
            + "; ".join(f"{p.kernel} {p.backend} {p.where}: {p.skipped}" for p in skipped[:3])
        )
    console.print(
        f"threads: {threads_line(m['thread_settings'])}; process pinned to cores {m['affinity']}",
        highlight=False,
    )
