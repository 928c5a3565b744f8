"""Sweep K, dh and the image side per kernel x backend x dtype; print the fitted cost
models and the crossovers, write scaling.json and the plots into --out."""

from __future__ import annotations

from .options import check_cores, dtype_list, kernel_list, out_folder, positive


def arguments(p) -> None:
    p.add_argument("--quick", action="store_true", help="fewer sizes, float64, short timings")
    p.add_argument(
        "--dtype",
        type=dtype_list,
        default=["float64"],
        help="float64 and/or float32, comma-separated (default float64)",
    )
    p.add_argument("--kernels", help="comma-separated subset of the kernels")
    p.add_argument("--threads", type=positive, default=1, help="BLAS and numba threads (default 1)")
    out_folder(p, "scaling", "scaling.json and the PNG plots")


def run(args) -> int:
    from pathlib import Path

    from ..bench.experiments import scaling
    from ..bench.renderers import outputs, scaling_summary

    kernels = kernel_list(args.kernels)
    check_cores(args.threads)
    out = outputs.check_writable(Path(args.out) if args.out else outputs.default_folder("scaling"))
    result = scaling.sweep(
        kernels=kernels, dtypes=tuple(args.dtype), threads=args.threads, quick=args.quick
    )
    scaling_summary.print_summary(result)
    files = outputs.save_scaling(result, out)
    print("wrote:", *files, sep="\n  ")
    return 0
