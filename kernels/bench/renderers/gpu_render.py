"""What ``python -m kernels gpu`` prints and writes: an 80-column table per run, the
copies to the device, the sweep over K with its crossover, and one chart."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from .tables import titled


def table(result: dict):
    """A rich Table: seconds per epoch on the GPU and on the CPU, cold start, % of the
    device's limit and the speed-up over numba on the CPU."""
    t = titled(
        f"{result['dtype']}, K = {result['K']}, dh = {result['dh']}: seconds per "
        f"epoch (lower is better)"
    )
    for col in ("kernel", "backend", "on", "seconds", "cold s", "% limit", "x CPU"):
        t.add_column(col, justify="left" if col in ("kernel", "backend", "on") else "right")
    cpu = {r["kernel"]: r["seconds"] for r in result["rows"] if r["where"] == "cpu"}
    for r in result["rows"]:
        if "skipped" in r:
            t.add_row(r["kernel"], r["backend"], r["where"], "n/a", "", "", "")
            continue
        pct = r.get("pct_of_limit")
        t.add_row(
            r["kernel"],
            r["backend"],
            r["where"],
            f"{r['seconds']:.3g}" + ("*" if r.get("extrapolated") else ""),
            f"{r['cold_seconds']:.2g}",
            "" if pct is None else f"{pct:.0f} %",
            f"{cpu[r['kernel']] / r['seconds']:.2g}x",
        )
    return t


def notes(result: dict) -> list[str]:
    """The lines under the table (wrapped at 80 columns): device, limits, copies, skips,
    agreement, crossover."""
    d, lim = result["device"], result["limits"]
    lines = [
        f"device: {d.get('name', 'unknown')}; CPU: {result['cpu']}",
        f"limits: {lim['flops_float64'] / 1e12:.1f} TFLOP/s float64, "
        f"{lim['flops_float32'] / 1e12:.1f} TFLOP/s float32, copy "
        f"{lim['copy_bandwidth'] / 1e9:.0f} GB/s (device to device, read + written)",
    ]
    for c in result["copies"]:
        lines.append(
            f"copy to the device ({c['library']}, {c['kernel']}): "
            f"{c['bytes'] / 1e6:.1f} MB in {c['seconds'] * 1e3:.1f} ms = "
            f"{c['gb_per_s']:.1f} GB/s (not in the epochs)"
        )
    for r in result["rows"]:
        if "skipped" in r:
            lines.append(f"{r['kernel']} {r['backend']}: not timed: {r['skipped']}")
        elif r["where"] == "gpu" and not r["agrees"]:
            lines.append(
                f"{r['kernel']} {r['backend']}: differs from numba on the CPU by "
                f"{r['max_difference']:.1e} (relative), beyond the design's tolerance"
            )
    if any(r.get("extrapolated") for r in result["rows"]):
        lines.append("*: a slice of the epoch timed, extrapolated to 60,000 examples")
    if any(p["where"] == "gpu" for p in result["sweep"]):
        K = result["crossover"]
        lines.append(
            "mlp_epoch on the GPU "
            + (f"beats numba on the CPU from K = {K} on" if K else "never beats numba on the CPU")
            + f" (K swept: {', '.join(str(k) for k in sorted({p['K'] for p in result['sweep']}))})"
        )
    return [textwrap.fill(line, 80, subsequent_indent="  ") for line in lines]


def chart(result: dict, path: Path) -> None:
    """Seconds per mlp_epoch against K, one line per contender (log-log)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    names = sorted({(p["backend"], p["where"]) for p in result["sweep"]})
    for backend, where in names:
        points = sorted(
            (p["K"], p["seconds"])
            for p in result["sweep"]
            if (p["backend"], p["where"]) == (backend, where)
        )
        ax.plot(
            *zip(*points),
            marker="o",
            linestyle="-" if where == "gpu" else "--",
            label=f"{backend} ({where.upper()})",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    sizes = sorted({p["K"] for p in result["sweep"]})
    ax.set_xticks(sizes, [str(K) for K in sizes])
    ax.minorticks_off()
    ax.set_xlabel("minibatch size K")
    ax.set_ylabel("seconds per epoch of 60,000 examples (lower is better)")
    ax.set_title(
        f"mlp_epoch, {result['dtype']}, dh = {result['dh']}: "
        f"{result['device'].get('name', 'GPU')} against the CPU",
        fontsize=10,
    )
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def save(result: dict, out: Path) -> list[Path]:
    """gpu-DTYPE.json (and its chart, when there is a sweep) in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"gpu-{result['dtype']}.json"
    path.write_text(json.dumps(result, indent=1, default=float))
    files = [path]
    if result["sweep"]:
        files.append(out / f"gpu-{result['dtype']}.png")
        chart(result, files[-1])
    return files
