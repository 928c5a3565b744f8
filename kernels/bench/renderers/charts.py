"""The report's chart: one panel per kernel, seconds per epoch as horizontal bars on a
linear axis (the 1.1-1.5x gaps between the compiled and array backends stay visible),
each bar labelled with its value, the kernel's physical limit as a labelled line. Bars
far beyond the panel's fastest (plain Python) are cut at the edge and say so."""

from __future__ import annotations

from pathlib import Path

from ...registry import style_of
from ..rows import Report, Row
from .render import BOUND, bound_of, header

CUT = 12.0  # a panel's axis ends near CUT x its fastest bar; longer bars are cut
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
    axes[-1, 0].set_xlabel("seconds per epoch (lower is better)")
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
    fastest = min(times)
    edge = 1.15 * max(t for t in times if t <= CUT * fastest)
    for y, r in enumerate(rows):
        t = r.seconds_per_epoch
        cut = t > edge
        color = PEER if r.peer else style_of(r.backend)[0]
        ax.barh(
            y,
            min(t, edge),
            color=color,
            hatch="//" if r.extrapolated else None,
            edgecolor="black",
            linewidth=0.4,
        )
        text = f"{t:.3g} s" + (" (cut)" if cut else "") + (" ~" if r.extrapolated else "")
        ax.text(
            min(t, edge) * 1.01 if not cut else edge * 0.99,
            y,
            text,
            va="center",
            ha="left" if not cut else "right",
            fontsize=7,
            color="black" if not cut else "white",
        )
    limit = next((r.limit for r in rows if r.limit), None)
    if limit and limit <= edge:
        ax.axvline(limit, color="black", linestyle="--", linewidth=1.2)
        ax.text(
            limit,
            -0.55,
            f" {BOUND[bound].split(' (')[0]}: {limit:.3g} s",
            color="black",
            fontsize=7,
            va="bottom",
        )
    ax.set_yticks(range(len(rows)), [r.label for r in rows], fontsize=8)
    ax.set_ylim(len(rows) - 0.5, -1.1)  # top to bottom, room for the limit's label
    ax.set_xlim(0, edge * 1.25)
    ax.set_title(kernel, loc="left", fontsize=9, fontweight="bold")
    ax.tick_params(axis="x", labelsize=7)
