"""What a person reads of a report: tables that fit 80 columns (one per kernel, numbers
never elided), the notes on each bound, a Markdown page, a chart, and the closing summary.
Everything here reads a ``rows.Report`` (``report.time_report``'s, or a saved JSON's)."""

from __future__ import annotations

from ...registry import role_of
from ..rows import Report, Row, clear_lead
from ..specs import SPECS
from . import variants
from .tables import titled

BOUND = {
    "flop": "FLOP limit (matrix products at the peak FLOP/s)",
    "bytes": "bandwidth limit (bytes in and out at the copy bandwidth)",
}
COLUMNS = ("backend", "s / epoch", "spread", "x reference", "x baseline", "% limit", "diff")


def named(kernel: str, role: str) -> str:
    """The backend of ``kernel`` with ``role`` (the registry's), or the role's own name
    for a kernel no longer registered."""
    return role_of(kernel, role) or role


def columns(kernel: str) -> list[str]:
    """COLUMNS with the ratios named by the kernel's backends: "x python", "x numpy"."""
    return [
        f"x {named(kernel, col[2:])}" if col in ("x reference", "x baseline") else col
        for col in COLUMNS
    ]


def cells(row: Row) -> list[str]:
    """The row's figures as text, in the order of COLUMNS."""
    fmt = lambda v, spec: "" if v is None else format(v, spec)
    pct = "disturbed" if row.disturbed else fmt(row.pct_of_limit, ".3g")
    return [
        row.label,
        f"{'~' if row.extrapolated else ''}{row.seconds_per_epoch:.4g}{'*' if row.busy else ''}",
        f"{row.spread:.0%}" if row.rounds > 1 else "",
        fmt(row.speedup_vs_reference, ".3g"),
        fmt(row.speedup_vs_baseline, ".3g"),
        pct,
        fmt(row.max_diff_vs_compiled, ".0e"),
    ]


def bound_of(kernel: str) -> str:
    """Which limit the kernel's rows are held against: "flop" or "bytes" (its Spec)."""
    return SPECS[kernel].bound


def tables(result: Report):
    """One rich Table per kernel, each under 80 columns."""
    for kernel in result.kernels:
        t = titled(f"{kernel}: {BOUND[bound_of(kernel)]}")
        for col in columns(kernel):
            t.add_column(
                col,
                justify="left" if col == "backend" else "right",
                overflow="fold",
                no_wrap=col == "backend",
            )
        for r in result.rows_of(kernel):
            t.add_row(*cells(r))
        yield t


def header(result: Report) -> str:
    m, first = result.machine, result.rows[0]
    sizes = {a: v for r in result.rows for a, v in r.sizes.items()}
    busy = result.load_line()
    return (
        f"Seconds per Fashion-MNIST epoch, lower is better: {m['cpu']}, {m['threads']} "
        f"thread(s)\n60,000 examples, K = {first.K}, {first.dtype}"
        + "".join(f", {a} = {v}" for a, v in sizes.items())
        + (f"\n{busy}" if busy else "")
    )


def threads_line(settings) -> str:
    """The thread settings in words: ``blas openblas 0.3.30 on 1 thread; numba on 1
    thread; on core 0; ...``: counts say threads, the cores say which ones."""
    if not isinstance(settings, dict):
        return str(settings)
    threads = lambda n: f"{n} thread{'s' * (n != 1)}"
    parts = []
    for key, value in settings.items():
        if key == "cores" and isinstance(value, list):
            parts.append(f"on core{'s' * (len(value) != 1)} {', '.join(map(str, value))}")
        elif key == "numba" and isinstance(value, int):
            parts.append(f"numba on {threads(value)}")
        elif isinstance(value, dict):
            parts.append(
                f"{key} "
                + ", ".join(
                    f"{k} on {threads(v)}" if isinstance(v, int) else f"{k} {v}"
                    for k, v in value.items()
                )
            )
        elif value is not None:
            parts.append(f"{key} {' '.join(map(str, value)) if isinstance(value, list) else value}")
    return "; ".join(parts)


def peak_source(m: dict) -> str:
    """Which rate set the FLOP limit: the FMA loop, or np.dot's large product."""
    if m.get("fma_flops", 0) > m.get("gemm_flops", m["peak_flops"]):
        return f"register FMA loop; np.dot 2048^2 {m['gemm_flops'] / 1e9:.1f}"
    return "np.dot 2048^2"


def notes(result: Report) -> list[str]:
    """The lines under the tables: legend, limits, the bounds of each kernel, warnings."""
    m = result.machine
    out = [
        f"limits (best of {len(result.rate_measurements) or 1} measurements in this "
        f"run): peak {m['peak_flops'] / 1e9:.1f} GFLOP/s ({peak_source(m)}), copy "
        f"{m['copy_bandwidth'] / 1e9:.1f} GB/s (np.copyto, read + write), np.exp "
        f"{m['exp_rate'] / 1e9:.2f} G elements/s",
        "~ extrapolated from the first minibatches; * timed while other work took more "
        "than a quarter of a core; spread = (max - min) / median of the "
        "rounds; % limit = limit / measured; stream: every output written into one "
        "preallocated array (out=), the fair comparison with the bandwidth limit; hot: each "
        "output discarded, so one cache-hot buffer is reused; diff: a peer's largest |difference| "
        "from the compiled backend's (numba's) result (peers only)",
    ]
    for kernel in result.kernels:  # what the kernel's Spec adds under its table
        note = SPECS[kernel].note if kernel in SPECS else None
        own = [
            r
            for r in result.rows_of(kernel, peers=False)
            if r.backend != named(kernel, "reference")
        ]
        line = note(m, own) if note and own else None
        if line:
            out.append(line)
    if result.disturbed:
        out.append(
            f"disturbed (faster than a limit it cannot beat even with the best rates of the "
            f"run; percentage withheld): {', '.join(result.disturbed)}"
        )
    if result.noisy:
        out.append(f"warning: spread above 10 % in: {', '.join(result.noisy)}")
    if m.get("blocks"):
        out.append(
            "numba's register blocks (MR x NV x bits): "
            + ", ".join(f"{d} {b}" for d, b in m["blocks"].items())
            + f" ({m['blocks_from']})"
            + (f"; streaming stores: {m['stores']} ({m['stores_from']})" if m.get("stores") else "")
        )
    for dtype, way in m.get("numba_epoch", {}).items():
        out.append(
            f"numba's {dtype} epoch: tails of at most {way['tail']} columns through BLAS "
            f"({way['tail_from']}); x of at most {way['cached'] / 2**20:.2f} MiB counted "
            f"as cached ({way['cached_from']})"
        )
    out.append(
        f"threads: {threads_line(m.get('thread_settings'))}; versions: "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
    )
    cold = result.cold_start
    if cold:
        keys = [k for k in cold["compile"] if ":" in k]
        warm = cold.get("cached", {})
        out.append(
            "cold start, first minibatch in a fresh process (s, fresh compile"
            + (" / warm cache" if warm else "")
            + "): "
            + ", ".join(
                f"{k} {cold['compile'][k]:.3f}" + (f" / {warm[k]:.3f}" if k in warm else "")
                for k in keys
            )
        )
    return out


def summary(result: Report) -> list[str]:
    """The closing lines: what fastest picks, the headline ratios, % of limit."""
    picks = result.fastest
    out = [
        "kernels.fastest() here picks, in the shell's own thread conditions: "
        + ", ".join(f"{k} -> {v['backend']} ({source(v.get('why', ''))})" for k, v in picks.items())
    ]
    for kernel in result.kernels:
        rows = result.rows_of(kernel, peers=False)
        rows = [r for r in rows if r.mode in ("", "streaming")] or rows
        best = min(rows, key=lambda r: r.seconds_per_epoch)
        parts = [f"{kernel}: {best.label} fastest, {best.seconds_per_epoch:.3g} s"]
        for ratio, role in (
            (best.speedup_vs_baseline, "baseline"),
            (best.speedup_vs_reference, "reference"),
        ):
            name = named(kernel, role)
            if ratio is not None and best.backend != name:
                parts.append(f"{ratio:.3g}x {name}")
        pct = "disturbed" if best.disturbed else f"{best.pct_of_limit:.3g} % of limit"
        out.append(", ".join(parts + [pct]))
        pick = picks.get(kernel, {})
        picked = next((r for r in rows if r.backend == pick.get("backend")), None)
        if pick and pick["backend"] != best.backend:
            if picked is not None and not clear_lead(
                best.seconds_per_epoch, best.spread, picked.seconds_per_epoch, picked.spread
            ):
                out.append(
                    f"{kernel}: fastest() picks {pick['backend']}, which ties with "
                    f"{best.backend} here (within the spread of their rounds)"
                )
            else:
                out.append(
                    f"{kernel}: fastest() picks {pick['backend']}, not {best.backend}: "
                    f"{WHY_OTHER[source(pick.get('why', ''))]}"
                )
    return out


# why fastest() may pick another backend than the report's table has fastest
WHY_OTHER = {
    "autotune record": "the record was measured in the shell's own thread conditions, the table "
    "on the report's pinned threads (`python -m kernels autotune --show`)",
    "shipped ranking": "the shipped ranking, not measured on this machine (`python -m kernels "
    "autotune` measures it)",
    "explicit choice": "chosen by kernels.use() or KERNELS_BACKEND",
}


def source(why: str) -> str:
    """The rule of ``kernels.select.choose`` behind a pick, in two or three words."""
    if why.startswith("autotune record"):
        return "autotune record"
    if why.startswith("shipped ranking"):
        return "shipped ranking"
    return "explicit choice"


def markdown(result: Report) -> str:
    """The report as a Markdown page (tables and notes)."""
    lines = [f"# {header(result).replace(chr(10), '; ')}", ""]
    for kernel in result.kernels:
        lines += [
            f"## {kernel}: {BOUND[bound_of(kernel)]}",
            "",
            "| " + " | ".join(columns(kernel)) + " |",
            "|" + "|".join(["---"] + ["--:"] * (len(COLUMNS) - 1)) + "|",
        ]
        lines += ["| " + " | ".join(cells(r)) + " |" for r in result.rows_of(kernel)]
        lines.append("")
    lines += [f"- {line}" for line in notes(result)]
    if result.variants:
        lines += ["", *variants.markdown(result.variants, result.machine), ""]
    lines += [f"- {line}" for line in summary(result)]
    return "\n".join(lines) + "\n"


def print_report(result: Report, console=None) -> None:
    from rich.console import Console

    console = console or Console()
    console.print(header(result))
    for t in tables(result):
        console.print(t)
    for line in notes(result):
        console.print(line, highlight=False)
    if result.variants:
        console.print(variants.table(result.variants, result.machine))
    for line in summary(result):
        console.print(line, highlight=False)
