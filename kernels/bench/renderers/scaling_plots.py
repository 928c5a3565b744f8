"""Tables and plots of a scaling sweep (``scaling.sweep``): time per example against each
axis with the physical limit and the fitted cost models, speed-up over numpy, and the
roofline of every measured point."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from ...registry import role_of, style_of
from ..points import Point, axes, axis_kernels, bound_work, headline, points_of
from ..settings import MINIBATCH
from ..specs import SPECS


def axis_label(axis: str) -> str:
    """How the x axis of ``axis``'s panels is named."""
    if axis == MINIBATCH.name:
        return f"{MINIBATCH.label} (examples per call)"
    known = axes().get(axis)  # an axis of a kernel no longer registered: its name
    return f"{known.label if known else axis} ({MINIBATCH.name} = {MINIBATCH.base})"


def on_axis(result: dict, kernel: str, dtype: str, axis: str) -> list[Point]:
    """The points of ``kernel`` along ``axis``, every other axis at its headline value."""
    fixed = {a: v for a, v in headline(kernel).items() if a != axis}
    return [
        p
        for p in points_of(result, kernel=kernel, dtype=dtype)
        if all(p.size(a) == v for a, v in fixed.items())
    ]


def _limit_per_example(result: dict, p) -> float:
    rates = result["rates"][p.dtype]
    rate = rates["peak_flops" if SPECS[p.kernel].bound == "flop" else "copy_bandwidth"]
    return bound_work(p) / rate / p.K


def _fit(result: dict, kernel: str, backend: str, dtype: str) -> dict | None:
    return next(
        (
            f
            for f in result["fits"]
            if (f["kernel"], f["backend"], f["dtype"]) == (kernel, backend, dtype)
        ),
        None,
    )


def axis_figure(result: dict, dtype: str, panels: list[tuple[str, str]], path: Path) -> None:
    """One column per (axis, kernel): seconds per example (log-log) with the limit and
    each backend's fitted model, and below it the speed-up over numpy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        2,
        len(panels),
        figsize=(4.2 * len(panels), 7.5),
        squeeze=False,
        sharex="col",
        gridspec_kw={"height_ratios": [2, 1]},
    )
    for col, (axis, kernel) in enumerate(panels):
        top, bottom = axes[0, col], axes[1, col]
        pts = on_axis(result, kernel, dtype, axis)
        by_backend: dict[str, list] = {}
        for p in sorted(pts, key=lambda p: p.size(axis)):
            by_backend.setdefault(p.backend, []).append(p)
        named = role_of(kernel, "baseline") or "baseline"  # numpy
        baseline = by_backend.get(named, [])
        base_time = {p.size(axis): p.seconds_per_example for p in baseline}
        for backend, series in by_backend.items():
            x = np.array([p.size(axis) for p in series])
            y = np.array([p.seconds_per_example for p in series])
            c, mark = style_of(backend)
            top.plot(x, y, marker=mark, linestyle="-", color=c, label=backend, markersize=4)
            sliced = [p.sliced for p in series]
            top.plot(x[sliced], y[sliced], mark, mfc="white", color=c, markersize=4)
            f = _fit(result, kernel, backend, dtype)
            if f:
                work = np.array([bound_work(p) for p in series])
                K = np.array([p.K for p in series])
                top.plot(
                    x, (f["overhead_us"] * 1e-6 + work / f["rate"]) / K, ":", color=c, linewidth=1
                )
            ratio = [
                (s, base_time[s] / p.seconds_per_example)
                for s, p in zip(x, series)
                if s in base_time
            ]
            if ratio:
                bottom.plot(*zip(*ratio), marker=mark, linestyle="-", color=c, markersize=4)
        limit = sorted((p.size(axis), _limit_per_example(result, p)) for p in baseline or pts)
        if limit:
            top.plot(*zip(*limit), "-", color="black", linewidth=2, label="physical limit")
        for c in result["crossovers"]:
            if (c["axis"], c["kernel"], c["dtype"]) == (axis, kernel, dtype):
                top.axvline(
                    float(np.sqrt(np.prod(c["between"]))),
                    color="purple",
                    linestyle="--",
                    linewidth=0.8,
                )
        top.set(xscale="log", yscale="log", title=f"{kernel}", ylabel="seconds per example")
        bottom.set(
            xscale="log", yscale="log", xlabel=axis_label(axis), ylabel=f"speed-up over {named}"
        )
        bottom.axhline(1, color="black", linewidth=0.5)
        top.legend(fontsize=7)
    m = result["machine"]
    fig.suptitle(
        f"{m['cpu']}, {m['threads']} pinned thread(s), {dtype}; {result['mode']}; "
        f"dotted: fitted overhead + work / rate; open: slice of the epoch; "
        f"dashed purple: crossover",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def roofline(result: dict, path: Path) -> None:
    """Achieved GFLOP/s against FLOP per byte for every measured point, one panel per
    dtype, under the measured compute roof (np.dot) and bandwidth roof (np.copyto)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    drawn = points_of(result)
    # a shape per kernel, a colour per backend (the registry's), each legend entry drawn
    markers = dict(zip(dict.fromkeys(p.kernel for p in drawn), itertools.cycle("osD^vPXh*<>")))
    colours = {b: style_of(b)[0] for b in dict.fromkeys(p.backend for p in drawn)}
    dtypes = list(result["rates"])
    fig, axes = plt.subplots(1, len(dtypes), figsize=(7 * len(dtypes), 5.5), squeeze=False)
    for ax, dtype in zip(axes[0], dtypes):
        pts = points_of(result, dtype=dtype)
        intensity = np.array([p.flop_per_call / p.bytes_per_call for p in pts])
        for p, i in zip(pts, intensity):
            ax.plot(
                i,
                p.flop_per_call / p.seconds_per_call / 1e9,
                markers[p.kernel],
                color=colours[p.backend],
                markersize=4,
                alpha=0.7,
            )
        rates = result["rates"][dtype]
        x = np.logspace(np.log10(intensity.min() / 2), np.log10(intensity.max() * 2), 200)
        ax.plot(
            x, np.minimum(rates["peak_flops"], rates["copy_bandwidth"] * x) / 1e9, "k-", linewidth=2
        )
        ax.text(
            x[-1],
            rates["peak_flops"] / 1e9,
            f"{rates['peak_flops'] / 1e9:.0f} GFLOP/s ",
            ha="right",
            va="bottom",
            fontsize=8,
        )
        ax.text(
            x[0],
            rates["copy_bandwidth"] * x[0] / 1e9,
            f" {rates['copy_bandwidth'] / 1e9:.0f} GB/s",
            va="bottom",
            fontsize=8,
            rotation=30,
        )
        for name, c in colours.items():
            ax.plot([], [], "o", color=c, label=name)
        for name, mk in markers.items():
            ax.plot([], [], mk, color="black", mfc="none", label=name)
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="arithmetic intensity (FLOP per byte crossing the kernel's interface)",
            ylabel="achieved GFLOP/s",
            title=dtype,
        )
        ax.legend(fontsize=7, ncol=2)
    m = result["machine"]
    fig.suptitle(
        f"Roofline, every point of the sweep: {m['cpu']}, {m['threads']} pinned thread(s)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_plots(result: dict, directory: Path) -> list[Path]:
    """Per dtype: the K axis (every kernel) and the kernels' own axes (the widths: dh of
    the MLP kernels, image side of gradient_norm, ...); and the roofline. Returns the
    files written."""
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    for dtype in result["rates"]:
        own = tuple(a for a in result["grid"] if a != MINIBATCH.name)
        for name, names in ((MINIBATCH.name, (MINIBATCH.name,)), ("width", own)):
            panels = [
                (a, k)
                for a in names
                for k in axis_kernels(a)
                if points_of(result, kernel=k, dtype=dtype)
            ]
            if panels:
                files.append(directory / f"scaling-{name}-{dtype}.png")
                axis_figure(result, dtype, panels, files[-1])
    files.append(directory / "roofline.png")
    roofline(result, files[-1])
    return files
