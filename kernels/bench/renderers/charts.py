"""The report's chart: one panel per kernel, seconds per epoch as horizontal bars on a
logarithmic axis (plain Python runs 10^2-10^4 times the compiled backends: on a linear
axis its bar would have to be cut), each bar labelled with its value, the kernel's
physical limit as a black dashed line with its value."""

from __future__ import annotations

from pathlib import Path

from ...registry import style_of
from ..rows import Report, Row
from .render import BOUND, bound_of, header

PEER = "white"  # peers: hollow bars; every backend its registry colour


def report_chart(result: Report, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kernels = result.kernels
    heights = [len(result.rows_of(k)) for k in kernels]
    fig, axes = plt.subplots(
        len(kernels),
        1,
        figsize=(9, 1.1 + 0.32 * sum(heights) + 0.5 * len(kernels)),
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    for ax, kernel in zip(axes[:, 0], kernels):
        _panel(ax, kernel, result.rows_of(kernel), bound_of(kernel))
    axes[-1, 0].set_xlabel("seconds per epoch, logarithmic axis (lower is better)")
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    drawn = dict.fromkeys(r.backend for r in result.rows if not r.peer)
    handles = [Patch(color=style_of(b)[0], label=b) for b in drawn]
    if any(r.peer for r in result.rows):
        handles.append(Patch(facecolor=PEER, edgecolor="black", label="peers"))
    handles += [
        Patch(
            facecolor="white", edgecolor="black", hatch="//", label="~ extrapolated from a slice"
        ),
        Line2D([], [], color="black", linestyle="--", label="physical limit"),
    ]
    fig.legend(
        handles=handles, loc="lower center", ncol=min(6, len(handles)), fontsize=8, frameon=False
    )
    legend_rows = -(-len(handles) // 6)
    fig.suptitle(header(result), fontsize=10)
    fig.tight_layout(rect=(0, 0.03 * legend_rows, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _panel(ax, kernel: str, rows: list[Row], bound: str) -> None:
    times = [r.seconds_per_epoch for r in rows]
    limit = next((r.limit for r in rows if r.limit), None)
    low = min(times + ([limit] if limit else [])) / 3
    for y, r in enumerate(rows):
        t = r.seconds_per_epoch
        color = PEER if r.peer else style_of(r.backend)[0]
        ax.barh(
            y,
            t - low,
            left=low,
            color=color,
            hatch="//" if r.extrapolated else None,
            edgecolor="black",
            linewidth=0.4,
        )
        text = f"{t:.3g} s" + (" ~" if r.extrapolated else "") + (" *" if r.busy else "")
        ax.text(t * 1.05, y, text, va="center", ha="left", fontsize=7, color="black")
    if limit:
        ax.axvline(limit, color="black", linestyle="--", linewidth=1.2)
        ax.text(
            limit,
            -0.55,
            f" {BOUND[bound].split(' (')[0]}: {limit:.3g} s",
            color="black",
            fontsize=7,
            va="bottom",
        )
    ax.set_xscale("log")  # every bar whole: plain Python is 10^2-10^4 x the compiled ones
    ax.set_yticks(range(len(rows)), [r.label for r in rows], fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -1.1)  # top to bottom, room for the limit's label
    ax.set_xlim(low, max(times) * 4)  # room for the longest bar's label
    ax.set_title(kernel, loc="left", fontsize=9, fontweight="bold")
    ax.tick_params(axis="x", labelsize=7)
