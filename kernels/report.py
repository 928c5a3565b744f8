"""``python -m kernels report``: every kernel x available backend per epoch on real
Fashion-MNIST, beside the peers and the machine's physical limit, in one process
with pinned threads (DESIGN §6-7)."""
from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass

import numpy as np

from . import limits, peers
from .registry import KERNELS, available, entry, get
from .workloads import SLICE, Workload


@dataclass
class Row:
    kernel: str
    backend: str
    dtype: str
    dh: int | None
    K: int
    seconds_per_epoch: float
    extrapolated: bool
    batches_timed: int
    rounds: int
    pct_of_limit: float
    speedup_vs_python: float | None = None
    speedup_vs_numpy: float | None = None
    peer: bool = False


def time_run(work: Workload, fn, batches: int, rounds: int) -> float:
    """Median seconds of ``work.run(fn, batches)`` over ``rounds``; garbage collection
    paused while timing, as timeit does. Warm up (compile) before calling this."""
    times = []
    for _ in range(rounds):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            work.run(fn, batches)
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return statistics.median(times)


def extrapolate(seconds: float, batches_timed: int, batches_per_epoch: int) -> float:
    """Seconds per epoch from the time of the first ``batches_timed`` minibatches."""
    return seconds * batches_per_epoch / batches_timed


def machine(threads: int, rates: dict[str, float]) -> dict:
    """What the figures were measured on."""
    from .threads import settings
    import scipy
    cpu = limits.cpu_model()
    versions = {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__}
    for name in ("numba", "torch"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            versions[name] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "threads": threads, "thread_settings": settings(),
            "versions": versions, **rates}


def run(kernels=KERNELS, dtype="float64", dh=50, K=100, threads=1, quick=False,
        examples=None, progress=True) -> dict:
    """Measure everything; returns ``{"machine": {...}, "rows": [...], "cold_start": {...}}``.

    ``examples`` limits the epoch to the first N training examples (figures are then
    extrapolated to the 60,000, and marked so): for tests and quick looks.
    """
    from .select import choose
    from .threads import pin
    # what kernels.fastest picks in this environment, before the report pins threads
    picks = {k: dict(zip(("backend", "why"), choose(k, dtype=dtype, size=K))) for k in kernels}
    pin(threads)
    peers.set_threads(threads)
    rounds = 3 if quick else 5
    plan = []                              # (kernel, name, callable, is_peer)
    for kernel in kernels:
        plan += [(kernel, b, None, False) for b in available(kernel)]
        plan += [(kernel, name, fn, True) for name, fn in peers.available_peers(kernel).items()]

    from rich.progress import Progress
    rows, rates = [], None
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("measuring", total=len(plan) + 1)
        bar.update(task, description="machine limits")
        rates = limits.measure(dtype, quick, threads)
        bar.advance(task)
        works = {}
        for kernel, name, fn, is_peer in plan:
            bar.update(task, description=f"{kernel} / {name}")
            work = works.get(kernel) or works.setdefault(kernel, Workload(kernel, K, dtype, dh, examples))
            fn = fn or get(kernel, name)
            slow = not is_peer and entry(kernel, name).slow
            batches = max(1, SLICE[kernel] // (4 if quick else 1)) if slow else work.batches
            batches = min(batches, work.batches)
            work.warm_up(fn)
            seconds = time_run(work, fn, batches, 1 if slow and quick else rounds)
            full = Workload.full_batches(K)
            per_epoch = extrapolate(seconds, batches, full)
            limit = limits.limit_seconds(kernel, full * K, dtype, dh, rates)
            rows.append(Row(kernel, name, dtype, dh if kernel.startswith("mlp") else None, K,
                            per_epoch, batches < full, batches, 1 if slow and quick else rounds,
                            100 * limit / per_epoch, peer=is_peer))
            bar.advance(task)
    for row in rows:
        same = {r.backend: r.seconds_per_epoch for r in rows if r.kernel == row.kernel}
        if "python" in same:
            row.speedup_vs_python = same["python"] / row.seconds_per_epoch
        if "numpy" in same:
            row.speedup_vs_numpy = same["numpy"] / row.seconds_per_epoch
    from . import coldstart
    return {"machine": machine(threads, rates), "rows": [asdict(r) for r in rows],
            "fastest": picks, "cold_start": coldstart.measure(dtype, threads)}


def table(result: dict):
    """A rich Table of the rows."""
    from rich.table import Table
    m = result["machine"]
    t = Table(title=f"seconds per Fashion-MNIST epoch (60,000 examples, K = {result['rows'][0]['K']}) "
                    f"- {m['cpu']}, {m['threads']} thread(s)", title_justify="left")
    for col in ("kernel", "backend", "s / epoch", "x python", "x numpy", "% of limit"):
        t.add_column(col, justify="left" if col in ("kernel", "backend") else "right")
    previous = None
    for r in result["rows"]:
        name = r["backend"] + (" (peer)" if r["peer"] else "")
        secs = f"{'~' if r['extrapolated'] else ''}{r['seconds_per_epoch']:.4g}"
        fmt = lambda v: "" if v is None else f"{v:.3g}"
        t.add_row(r["kernel"] if r["kernel"] != previous else "", name, secs,
                  fmt(r["speedup_vs_python"]), fmt(r["speedup_vs_numpy"]), f"{r['pct_of_limit']:.3g}",
                  end_section=False)
        previous = r["kernel"]
    return t


def plot(result: dict, path: str) -> None:
    """Bar chart of seconds per epoch (log scale) grouped by kernel, the limit as a line."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = result["rows"]
    kernels = list(dict.fromkeys(r["kernel"] for r in rows))
    fig, ax = plt.subplots(figsize=(max(8, 0.6 * len(rows)), 5.5))
    x, ticks, labels = 0, [], []
    for kernel in kernels:
        group = [r for r in rows if r["kernel"] == kernel]
        xs = np.arange(x, x + len(group))
        colors = ["tab:gray" if r["peer"] else "tab:blue" for r in group]
        hatch = ["//" if r["extrapolated"] else "" for r in group]
        for xi, r, c, h in zip(xs, group, colors, hatch):
            ax.bar(xi, r["seconds_per_epoch"], color=c, hatch=h, edgecolor="black", linewidth=0.5)
        limit = group[0]["seconds_per_epoch"] * group[0]["pct_of_limit"] / 100
        ax.hlines(limit, xs[0] - 0.45, xs[-1] + 0.45, colors="tab:red", linewidth=2,
                  label="physical limit" if kernel == kernels[0] else None)
        ticks += list(xs)
        labels += [f"{kernel}\n{r['backend']}" for r in group]
        x += len(group) + 1
    ax.set_yscale("log")
    ax.set_ylabel("seconds per epoch (log); hatched: extrapolated, grey: peer")
    ax.set_xticks(ticks, labels, rotation=60, ha="right", fontsize=8)
    m = result["machine"]
    ax.set_title(f"{m['cpu']}, {m['threads']} thread(s), {rows[0]['dtype']}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save_json(result: dict, path: str) -> None:
    with open(path, "w") as f:
        json.dump(result, f, indent=1)


def print_report(result: dict) -> None:
    from rich.console import Console
    console = Console()
    console.print(table(result))
    m = result["machine"]
    console.print(f"limits measured in this run: peak {m['peak_flops'] / 1e9:.1f} GFLOP/s (np.dot "
                  f"2048^2), copy {m['copy_bandwidth'] / 1e9:.1f} GB/s (np.copyto on {m['threads']} "
                  f"thread(s), read + write), "
                  f"np.exp {m['exp_rate'] / 1e9:.2f} G elements/s")
    console.print("~ extrapolated from the first minibatches; % of limit = limit / measured "
                  "(MLP: FLOP / peak; gradient_norm, softmax: bytes / copy bandwidth)")
    console.print(f"threads: {m['thread_settings']}; versions: "
                  + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v))
    console.print("kernels.fastest() here picks: " + ", ".join(
        f"{k} -> {v['backend']} ({v['why']})" for k, v in result["fastest"].items()))
    cold = result["cold_start"]
    console.print("numba cold start, new process (seconds): " + ", ".join(
        f"{k} {cold['compile'][k]:.3f} compile / {cold['cached'][k]:.3f} cached"
        for k in cold["compile"]))
