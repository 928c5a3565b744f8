"""``python -m kernels report``: every kernel x available backend per epoch on real
Fashion-MNIST, beside the peers and the machine's physical limit, in one process with
pinned threads (docs/design.md, sections 6 and 7)."""
from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass

import numpy as np

from ..data import N_CLASSES, SIZES
from ..registry import KERNELS, available, entry, get
from ..select import choose, cpu_model
from . import limits, peers
from .agree import max_difference
from .threads import pin, settings
from .workloads import SPECS, Workload, outcome

SPREAD_WARNING = 0.10          # (max - min) / median of a row's rounds above this is flagged


@dataclass
class Row:
    kernel: str
    backend: str
    dtype: str
    dh: int | None
    K: int
    mode: str                      # "streaming" (out=), "cache-hot" (outputs discarded) or ""
    seconds_per_epoch: float       # median over the rounds, per 60,000 examples
    seconds_min: float
    seconds_max: float
    extrapolated: bool
    batches_timed: int
    rounds: int
    pct_of_limit: float
    speedup_vs_python: float | None = None
    speedup_vs_numpy: float | None = None
    peer: bool = False
    max_diff_vs_numba: float | None = None   # peers: checked outside the timed region

    @property
    def spread(self) -> float:
        return (self.seconds_max - self.seconds_min) / self.seconds_per_epoch


def time_runs(work: Workload, fn, batches: int, rounds: int) -> list[float]:
    """Seconds of each of ``rounds`` calls of ``work.run(fn, batches)``, garbage collection
    paused while timing, as timeit does (and, like timeit, no forced collection: with
    jax's caches alive one costs 0.15 s). Warm up (compile) before calling this."""
    times = []
    for _ in range(rounds):
        gc.disable()
        try:
            start = time.perf_counter()
            work.run(fn, batches)
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return times


def time_run(work: Workload, fn, batches: int, rounds: int) -> float:
    """Median of ``time_runs``."""
    return statistics.median(time_runs(work, fn, batches, rounds))


def extrapolate(seconds: float, batches_timed: int, batches_per_epoch: int) -> float:
    """Seconds per epoch from the time of the first ``batches_timed`` minibatches."""
    return seconds * batches_per_epoch / batches_timed


def machine(threads: int, rates: dict[str, float]) -> dict:
    """What the figures were measured on."""
    import scipy
    versions = {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__}
    for name in ("numba", "jax", "torch", "sklearn"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            versions[name] = None
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "threads": threads, "affinity": affinity,
            "thread_settings": settings(), "versions": versions, **rates}


def plan_of(kernels, peer_names=None) -> list[tuple[str, str, object, bool, bool]]:
    """(kernel, name, callable or None, is peer, streaming) for every row of the report:
    each available backend (twice for kernels with a streaming epoch), then the peers."""
    plan = []
    for kernel in kernels:
        for b in available(kernel):
            plan.append((kernel, b, None, False, False))
            if SPECS[kernel].streams and not entry(kernel, b).slow:
                plan.append((kernel, b, None, False, True))
        plan += [(kernel, name, fn, True, False)
                 for name, fn in peers.available_peers(kernel, peer_names).items()]
    return plan


def _check_peer(work: Workload, kernel: str, fn, batches: int) -> float | None:
    """Max |peer - numba| over the results of the same minibatches (untimed)."""
    if "numba" not in available(kernel):
        return None
    return max_difference(outcome(work.run(fn, batches)), outcome(work.run(get(kernel, "numba"), batches)))


def run(kernels=KERNELS, dtype="float64", dh=50, K=100, threads=1, quick=False,
        examples=None, progress=True, cold_start=True, peer_names=None) -> dict:
    """Measure everything; returns ``{"machine": {...}, "rows": [...], "fastest": {...},
    "cold_start": {...}}``. ``examples`` limits the epoch to the first N training
    examples (figures are then extrapolated to the 60,000, and marked so)."""
    # what kernels.fastest picks in this environment, before the report pins threads
    picks = {k: dict(zip(("backend", "why"), choose(k, dtype=dtype, size=K))) for k in kernels}
    pin(threads)
    peers.set_threads(threads)
    rounds = 3 if quick else 5
    plan = plan_of(kernels, peer_names)

    from rich.progress import Progress
    rows = []
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("measuring", total=len(plan) + 1)
        bar.update(task, description="machine limits")
        rates = limits.measure(dtype, quick, threads)
        if "mlp_epoch" in kernels:
            rates["mlp_products_seconds"] = limits.products_seconds(dtype, dh, K, 3 if quick else 5)
        bar.advance(task)
        works = {}
        for kernel, name, fn, is_peer, stream in plan:
            bar.update(task, description=f"{kernel} / {name}")
            key = (kernel, stream)
            work = works.get(key) or works.setdefault(key, Workload(kernel, K, dtype, dh, examples, stream))
            fn = fn or get(kernel, name)
            slow = not is_peer and entry(kernel, name).slow
            batches = work.slice_for(slow, quick)
            n_rounds = 1 if slow and quick else rounds
            work.warm_up(fn, batches)
            diff = _check_peer(work, kernel, fn, batches) if is_peer else None
            times = time_runs(work, fn, batches, n_rounds)
            full = Workload.full_batches(K)
            scale = full / batches
            median = statistics.median(times) * scale
            mode = ("streaming" if stream else "cache-hot") if work.spec.streams else ""
            rows.append(Row(kernel, name, dtype, dh if work.spec.bound == "flop" else None, K, mode,
                            median, min(times) * scale, max(times) * scale, batches < full,
                            batches, n_rounds, 100 * work.limit_seconds(rates) / median, peer=is_peer,
                            max_diff_vs_numba=diff))
            bar.advance(task)
    def baseline(row, backend):     # same kernel and mode; python has only cache-hot rows
        for mode in (row.mode, "cache-hot"):
            for r in rows:
                if (r.kernel, r.backend, r.mode, r.peer) == (row.kernel, backend, mode, False):
                    return r.seconds_per_epoch
        return None

    for row in rows:
        for backend, attr in (("python", "speedup_vs_python"), ("numpy", "speedup_vs_numpy")):
            base = baseline(row, backend)
            setattr(row, attr, None if base is None else base / row.seconds_per_epoch)
    result = {"machine": machine(threads, rates), "rows": [asdict(r) for r in rows], "fastest": picks,
              "noisy": [f"{r.kernel}/{r.backend}{' ' + r.mode if r.mode else ''}"
                        for r in rows if r.rounds > 1 and r.spread > SPREAD_WARNING]}
    if cold_start:
        from . import coldstart
        result["cold_start"] = coldstart.measure(dtype, threads)
    return result


def table(result: dict):
    """A rich Table of the rows."""
    from rich.table import Table
    m = result["machine"]
    t = Table(title=f"seconds per Fashion-MNIST epoch (60,000 examples, K = {result['rows'][0]['K']}) "
                    f"- {m['cpu']}, {m['threads']} thread(s)", title_justify="left")
    for col in ("kernel", "backend", "mode", "s / epoch", "min - max", "x python", "x numpy",
                "% of limit", "peer - numba"):
        t.add_column(col, justify="left" if col in ("kernel", "backend", "mode") else "right")
    previous = None
    for r in result["rows"]:
        name = r["backend"] + (" (peer)" if r["peer"] else "")
        secs = f"{'~' if r['extrapolated'] else ''}{r['seconds_per_epoch']:.4g}"
        fmt = lambda v: "" if v is None else f"{v:.3g}"
        t.add_row(r["kernel"] if r["kernel"] != previous else "", name, r["mode"], secs,
                  f"{r['seconds_min']:.3g} - {r['seconds_max']:.3g}",
                  fmt(r["speedup_vs_python"]), fmt(r["speedup_vs_numpy"]), f"{r['pct_of_limit']:.3g}",
                  "" if r.get("max_diff_vs_numba") is None else f"{r['max_diff_vs_numba']:.1e}",
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
        labels += [f"{kernel}\n{r['backend']}{' ' + r['mode'] if r['mode'] else ''}" for r in group]
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
                  "(MLP: FLOP / peak; gradient_norm, softmax: bytes / copy bandwidth). mode: "
                  "streaming = every output written into one preallocated array (out=), the fair "
                  "comparison with the bandwidth limit; cache-hot = each output discarded, so the "
                  "allocator reuses one cache-hot buffer")
    products = m.get("mlp_products_seconds")
    epoch = {r["backend"]: r for r in result["rows"] if r["kernel"] == "mlp_epoch" and not r["peer"]}
    if products and epoch:
        best = min(epoch.values(), key=lambda r: r["seconds_per_epoch"])
        limit = best["seconds_per_epoch"] * best["pct_of_limit"] / 100
        console.print(f"mlp_epoch's five matrix products alone (np.dot into preallocated arrays at the "
                      f"epoch's shapes): {products:.3g} s per epoch = {100 * limit / products:.3g} % of "
                      f"the FLOP limit, the bound any backend calling this BLAS can reach; "
                      f"{best['backend']}'s epoch is {100 * products / best['seconds_per_epoch']:.3g} % of it")

    def backend_rows(kernel):      # the kernel's rows but plain Python and the peers
        return [r for r in result["rows"] if r["kernel"] == kernel and not r["peer"] and r["backend"] != "python"]

    grad = backend_rows("gradient_norm")
    if grad and m.get("store_bandwidth"):
        ceiling = m["store_bandwidth"] / m["copy_bandwidth"]    # as a fraction of the limit
        line = ", ".join(f"{r['backend']} {r['mode']} {r['pct_of_limit'] / ceiling:.3g} %" for r in grad)
        console.print(f"gradient_norm, ordinary-store ceiling: a stream written with ordinary stores "
                      f"(np.multiply into a preallocated array) runs at {m['store_bandwidth'] / 1e9:.1f} "
                      f"GB/s = {100 * ceiling:.3g} % of the copy limit (memcpy's non-temporal stores "
                      f"skip reading each output line first); as % of it: {line}")
    soft = backend_rows("softmax")
    if soft:
        exp_bound = SIZES["train"] * N_CLASSES / m["exp_rate"]   # the epoch's exponentials
        line = ", ".join(f"{r['backend']}{' ' + r['mode'] if r['mode'] else ''} "
                         f"{100 * exp_bound / r['seconds_per_epoch']:.3g} %"
                         for r in soft)
        console.print(f"softmax, compute-side bound: its 600,000 exponentials at np.exp's measured "
                      f"rate take {exp_bound:.3g} s per epoch; as % of it: {line}")
    if result.get("noisy"):
        console.print(f"[yellow]warning: spread (max - min) / median above "
                      f"{SPREAD_WARNING:.0%} in: {', '.join(result['noisy'])}[/yellow]")
    console.print(f"threads: {m['thread_settings']}; process pinned to cores {m['affinity']}; versions: "
                  + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v))
    if result.get("variants"):
        from . import variants
        console.print(variants.table(result["variants"], m))
    console.print("kernels.fastest() here picks: " + ", ".join(
        f"{k} -> {v['backend']} ({v['why']})" for k, v in result["fastest"].items()))
    cold = result.get("cold_start")
    if not cold:
        return
    console.print("cold start, new process, first minibatch (seconds, fresh compile / warm cache): "
                  + ", ".join(f"{k} {cold['compile'][k]:.3f} / {cold['cached'][k]:.3f}"
                              for k in cold["compile"] if ":" in k))
