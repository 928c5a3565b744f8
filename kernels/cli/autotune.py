"""Time the backends of every kernel here along the K axis, both dtypes, in this
process's thread conditions, and record what kernels.fastest should pick.

How long it takes depends on the CPU (what each backend costs per call) and on how
steady the machine is: a point disturbed by other work or by a slow spell of numba's
thread pool is measured again, within a bounded patience. Where only numba's threaded
backend cannot be timed, the point is decided without it and the record says so; only
when other work takes the machine throughout does it stop, one line, nothing saved."""

from __future__ import annotations

from .options import positive


def arguments(p) -> None:
    from ..bench.settings import effort

    full, quick = effort("autotune", False), effort("autotune", True)
    p.add_argument(
        "--threads",
        type=positive,
        help="pin BLAS and numba threads (recorded in the "
        "fingerprint; default: leave the environment as it is)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"{len(quick.sizes)} sizes K instead of "
        f"{len(full.sizes)}, shorter timings; disturbed points measured again for at "
        f"most {quick.patience:g} s in all (the full run: {full.patience:g} s)",
    )
    what = p.add_mutually_exclusive_group()
    what.add_argument(
        "--show", action="store_true", help="print the record and where it lives; measure nothing"
    )
    what.add_argument(
        "--forget",
        action="store_true",
        help="remove the record: kernels.fastest follows the shipped ranking again",
    )


def run(args) -> int:
    from rich.console import Console

    from ..record import drop_record, load_record, record_path

    console = Console()
    if (args.show or args.forget) and (args.quick or args.threads):
        raise ValueError(
            f"--{'show' if args.show else 'forget'} measures nothing: --quick and "
            f"--threads apply to a measuring run only"
        )
    nothing = f"no autotune record at {record_path()}: kernels.fastest follows the shipped ranking"
    if args.forget:
        console.print(f"removed {record_path()}" if drop_record() else nothing, highlight=False)
        return 0
    if args.show:
        measured = load_record()
        if measured is None:
            console.print(nothing, highlight=False)
            return 0
    else:
        measured = measure(args.threads, args.quick, record_path())
    from ..bench.renderers import tuning_table

    console.print(tuning_table.table(measured))
    console.print(tuning_table.LEGEND, highlight=False)
    for line in tuning_table.machine_lines(measured):
        console.print(line, highlight=False)
    console.print(f"record: {record_path()} (`--forget` removes it)", highlight=False)
    return 0


def measure(threads, quick: bool, path) -> dict:
    """autotune's run; a refusal says whether an earlier record stays in force."""
    from ..bench.experiments import tuning

    try:
        return tuning.autotune(threads=threads, quick=quick)
    except tuning.MachineBusy as exc:
        kept = f"; the earlier record at {path} stays in force" if path.exists() else ""
        raise RuntimeError(f"{exc}{kept}") from None
