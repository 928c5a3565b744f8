"""Time every kernel x backend (and peers) per epoch on Fashion-MNIST against the
machine's physical limit, with pinned threads; print the tables and a summary and save
JSON, Markdown and a chart.

With several --threads or --dtype, also numba's epochs at every setting, in the same
run."""

from __future__ import annotations

from .options import (
    axis_size,
    check_cores,
    dtype_list,
    examples_option,
    kernel_list,
    out_folder,
    sizes_of,
    thread_list,
)


def arguments(p) -> None:
    p.add_argument(
        "--threads",
        type=thread_list,
        default=[1],
        help="BLAS and numba threads "
        "(default 1); several, comma-separated, add numba's epochs at each (same run)",
    )
    p.add_argument(
        "--size",
        type=axis_size,
        action="append",
        default=[],
        metavar="AXIS=N",
        help="a kernel's own axis at N, e.g. dh=100 (the MLP's hidden units; default 50); "
        "repeat for several axes",
    )
    p.add_argument(
        "--dtype",
        type=dtype_list,
        default=["float64"],
        help="float64 (default) or "
        "float32; both, comma-separated, add numba's epochs in each (same run)",
    )
    p.add_argument("--kernels", help="comma-separated subset of the kernels")
    p.add_argument(
        "--quick", action="store_true", help="fewer rounds, smaller extrapolation slices"
    )
    examples_option(p)
    p.add_argument(
        "--peers",
        help="comma-separated peers to time (default: every one installed: "
        "scipy, torch, torch.compile, scikit-learn); '' for none",
    )
    out_folder(p, "report", "report.json, report.md and report.png")


def run(args) -> int:
    from pathlib import Path

    from ..bench.experiments import report
    from ..bench.renderers import outputs, render
    from ..bench.workloads import check_names

    kernels = kernel_list(args.kernels)
    peers = None if args.peers is None else check_names(filter(None, args.peers.split(",")))
    out = outputs.check_writable(Path(args.out) if args.out else outputs.default_folder("report"))
    check_cores(max(args.threads))
    result = report.run(
        kernels,
        args.dtype,
        sizes_of(args.size, kernels),
        args.threads,
        quick=args.quick,
        examples=args.examples,
        peer_names=peers,
    )
    render.print_report(result)
    files = outputs.save_report(result, out)
    print("wrote:", *files, sep="\n  ")
    return 0
