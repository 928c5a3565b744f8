"""Time each kernel's GPU backends (numba-cuda, array-api on CuPy, jax) and PyTorch on
CUDA per epoch on the device, against its limits measured in the run and numba on the
CPU, then mlp_epoch across K; write gpu-DTYPE.json and .png into --out."""

from __future__ import annotations

from .options import dtype_list, examples_option, kernel_list, out_folder


def arguments(p) -> None:
    p.add_argument(
        "--dtype",
        type=dtype_list,
        default=["float64", "float32"],
        help="float64 and/or float32, comma-separated (default both)",
    )
    p.add_argument(
        "--kernels",
        help="comma-separated subset of the kernels whose Spec asks for "
        "the GPU (default: all of them)",
    )
    p.add_argument("--quick", action="store_true", help="three timed epochs, fewer K in the sweep")
    examples_option(p)
    out_folder(p, "gpu", "gpu-DTYPE.json and .png")


def run(args) -> int:
    from pathlib import Path

    from rich.console import Console

    from ..bench.experiments import gpu
    from ..bench.renderers import gpu_render, outputs
    from ..bench.settings import effort

    kernels = kernel_list(args.kernels, gpu.gpu_kernels())
    gpu.check_device()
    out = outputs.check_writable(Path(args.out) if args.out else outputs.default_folder("gpu"))
    console, files, how = Console(), [], effort("gpu", args.quick)
    for dtype in args.dtype:
        result = gpu.time_gpu(
            kernels,
            dtype,
            repeats=how.rounds,
            sweep=how.sizes,
            examples=args.examples,
            progress=lambda line: console.print(line, style="dim", highlight=False),
        )
        console.print(gpu_render.table(result))
        print(*gpu_render.notes(result), sep="\n")
        files += gpu_render.save(result, out)
    print("wrote:", *files, sep="\n  ")
    return 0
