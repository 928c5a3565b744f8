"""``python -m kernels report``, the experiment: every kernel x available backend per
epoch on real Fashion-MNIST, beside the peers and the machine's physical limit, in one
process with pinned threads (docs/design.md, sections 6 and 7). ``render`` shows it.

The limit's rates are measured before the first kernel and again after each kernel's
rows, and the best rate of the run is the limit: a rate measured in a neighbour's busy
second cannot make a row beat its limit. A row that still would (over 100 % of a
limit it cannot pass: the FLOP limit, or the copy limit for a streaming row) is marked
disturbed and its percentage withheld."""

from __future__ import annotations

import os
import platform
import statistics

from ... import registry
from ...machine import cpu_model
from ...registry import available, entry, get, kernel_names, on_cpu, role_of
from ...select import choose
from .. import peers
from ..rows import Report, Row
from ..settings import K, effort
from ..specs import SPECS
from ..timing import limits, load
from ..timing.progress import bar as progress_bar
from ..timing.stopwatch import SPREAD_WARNING, time_runs
from ..timing.threads import pinned, settings
from ..workloads import Workload, available_peers, outcome
from .agree import max_difference


def machine(threads: int, rates: dict[str, float]) -> dict:
    """What the figures were measured on."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    # what the registered backends depend on (their registry entries), then the peers'
    for name in ("numpy", "scipy", *registry.versions(), "torch", "scikit-learn"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "threads": threads,
        "affinity": affinity,
        "thread_settings": settings(),
        "versions": versions,
        **numba_choices(),
        **rates,
    }


def numba_choices() -> dict:
    """The numba microkernel's register block per dtype, its epoch's tail and cached x
    (``blocking.epoch_ways``) and the stores its streaming kernels write with, and how
    each was chosen (measured by autotune, the CPU table or the default, or forced by
    KERNELS_BLOCK, KERNELS_STORES); nothing without numba."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return {}
    from ...ops import blocking, store_kind

    blocks, source = blocking.chosen()
    stores, stores_from = store_kind.chosen()
    return {
        "blocks": {d: "x".join(map(str, b)) for d, b in blocks.items()},
        "blocks_from": source,
        "numba_epoch": blocking.epoch_ways(blocks),
        "stores": stores,
        "stores_from": stores_from,
    }


def plan_of(kernels, peer_names=None) -> list[tuple[str, str, object, bool, bool]]:
    """(kernel, name, callable or None, is peer, streaming) for every row of the report:
    each available backend (twice for kernels with a streaming epoch), then the peers."""
    plan = []
    for kernel in kernels:
        for b in on_cpu(kernel):
            plan.append((kernel, b, None, False, False))
            if SPECS[kernel].streams and not entry(kernel, b).slow:
                plan.append((kernel, b, None, False, True))
        plan += [
            (kernel, name, fn, True, False)
            for name, fn in available_peers(kernel, peer_names).items()
        ]
    return plan


def _check_peer(work: Workload, kernel: str, fn, batches: int) -> float | None:
    """Max |peer - compiled| over the results of the same minibatches (untimed), against
    the kernel's backend of role "compiled" (numba)."""
    compiled = role_of(kernel, "compiled")
    if compiled not in available(kernel):
        return None
    return max_difference(
        outcome(work.run(fn, batches)), outcome(work.run(get(kernel, compiled), batches))
    )


def run(
    kernels,
    dtypes: list[str],
    sizes: dict,
    threads: list[int],
    quick: bool = False,
    examples: int | None = None,
    peer_names=None,
) -> Report:
    """The report of ``python -m kernels report``: ``time_report`` at the first thread
    count and dtype, and with several of either, numba's epochs at every setting
    (``variants``) in the same run."""
    if max(threads) > 1:
        # numba sizes its thread pool when first imported: start it with the most threads
        with pinned(max(threads)):
            try:
                import numba  # noqa: F401
            except ImportError:
                pass
    result = time_report(
        kernels,
        dtypes[0],
        sizes,
        threads=threads[0],
        quick=quick,
        examples=examples,
        peer_names=peer_names,
    )
    if len(threads) > 1 or len(dtypes) > 1:
        from . import variants

        result.variants = variants.time_variants(
            kernels, dtypes, threads, sizes, effort("variants", quick).rounds, examples
        )
    return result


def time_report(
    kernels=None,
    dtype="float64",
    sizes=None,
    K=K,
    threads=1,
    quick=False,
    examples=None,
    progress=True,
    cold_start=True,
    peer_names=None,
) -> Report:
    """Time every row (``plan_of``) against the limits measured in the same run.
    ``sizes``: values of the kernels' own axes (``{"dh": 100}``), each applied to the
    kernels that have that axis, the rest at their headline values. ``examples`` limits
    the epoch to the first N training examples (figures are then extrapolated to the
    60,000, and marked so)."""
    kernels = kernels or kernel_names()
    # what kernels.fastest picks in this environment, before the report pins threads
    picks = {k: dict(zip(("backend", "why"), choose(k, dtype=dtype, size=K))) for k in kernels}
    with pinned(threads):
        return _measure(
            kernels,
            dtype,
            sizes or {},
            K,
            threads,
            quick,
            examples,
            progress,
            cold_start,
            peer_names,
            picks,
        )


def _measure(
    kernels, dtype, sizes, K, threads, quick, examples, progress, cold_start, peer_names, picks
) -> Report:
    peers.set_threads(threads)
    rounds = effort("report", quick).rounds
    plan = plan_of(kernels, peer_names)

    rows, measured_rates, limit_work = [], [], []
    with progress_bar(progress) as bar:
        task = bar.add_task("measuring", total=len(plan) + len(kernels) + 2)
        bar.update(task, description="machine limits")
        limits_others = []
        with load.Watch() as seen:
            measured_rates.append(limits.machine_rates(dtype, quick, threads))
        limits_others.append(seen.others)
        bar.advance(task)
        context = {}  # what the Specs measure beside the limits: best of run
        for kernel in kernels:
            for name, measure in SPECS[kernel].context.items():
                context.setdefault(name, []).append(
                    measure(dtype, K, SPECS[kernel].pick(sizes), rounds)
                )
        works = {}
        for i, (kernel, name, fn, is_peer, stream) in enumerate(plan):
            bar.update(task, description=f"{kernel} / {name}")
            key = (kernel, stream)
            work = works.get(key) or works.setdefault(
                key, Workload(kernel, K, dtype, examples, stream, SPECS[kernel].pick(sizes))
            )
            fn = fn or get(kernel, name)
            slow = not is_peer and entry(kernel, name).slow
            batches = work.slice_for(slow, quick)
            n_rounds = 1 if slow and quick else rounds
            work.warm_up(fn, batches)
            diff = _check_peer(work, kernel, fn, batches) if is_peer else None
            with load.Watch() as seen:
                times = time_runs(work, fn, batches, n_rounds)
            full = Workload.full_batches(K)
            scale = full / batches
            median = statistics.median(times) * scale
            mode = ("streaming" if stream else "cache-hot") if work.spec.streams else ""
            rows.append(
                Row(
                    kernel,
                    name,
                    dtype,
                    work.sizes,
                    K,
                    mode,
                    median,
                    min(times) * scale,
                    max(times) * scale,
                    batches < full,
                    batches,
                    n_rounds,
                    None,
                    peer=is_peer,
                    max_diff_vs_compiled=diff,
                    others=seen.others,
                    busy=seen.busy,
                )
            )
            limit_work.append(work)
            bar.advance(task)
            if i + 1 == len(plan) or plan[i + 1][0] != kernel:  # the kernel's last row
                bar.update(task, description="machine limits again")
                with load.Watch() as seen:
                    measured_rates.append(limits.machine_rates(dtype, True, threads))
                limits_others.append(seen.others)
                for name, measure in SPECS[kernel].context.items():
                    context[name].append(measure(dtype, K, SPECS[kernel].pick(sizes), 3))
                bar.advance(task)
    rates = best_rates(measured_rates)
    rates.update({name: min(seconds) for name, seconds in context.items()})
    for row, work in zip(rows, limit_work):
        row.limit_seconds = work.limit_seconds(rates)
        pct = 100 * row.limit_seconds / row.seconds_per_epoch
        row.disturbed = pct > 100 and row.mode != "cache-hot"
        row.pct_of_limit = None if row.disturbed else pct

    def baseline(row, role):  # same kernel and mode; python has only cache-hot rows
        backend = role_of(row.kernel, role)
        for mode in (row.mode, "cache-hot"):
            for r in rows:
                if (r.kernel, r.backend, r.mode, r.peer) == (row.kernel, backend, mode, False):
                    return r.seconds_per_epoch
        return None

    for row in rows:
        for role in ("reference", "baseline"):
            base = baseline(row, role)
            attr = f"speedup_vs_{role}"
            setattr(row, attr, None if base is None else base / row.seconds_per_epoch)
    result = Report(
        machine(threads, rates),
        rows,
        picks,
        measured_rates,
        noisy=[r.name for r in rows if r.rounds > 1 and r.spread > SPREAD_WARNING],
        disturbed=[r.name for r in rows if r.disturbed],
        limits_others=limits_others,
    )
    if cold_start:
        from . import coldstart

        with progress_bar(progress) as bar:
            bar.add_task("cold start: first calls in fresh processes", total=None)
            result.cold_start = coldstart.cold_starts(
                dtype, threads, kernels, warm=effort("report", quick).warm_cold_start
            )
    return result


def best_rates(measured: list[dict[str, float]]) -> dict[str, float]:
    """The fastest of each rate over several measurements of ``limits.machine_rates``: the
    machine reached it, so a slower figure was a disturbed moment."""
    return {name: max(m[name] for m in measured) for name in measured[0]}
