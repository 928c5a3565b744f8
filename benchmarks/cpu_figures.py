"""The figures of "fast on every CPU" on this machine, one pinned core, real
Fashion-MNIST, K = 100, dh = 50 (docs/results/): numba's mlp_epoch against the machine's
FLOP rate (the higher of np.dot 2048^2 and the best register-resident FMA chains) in
both dtypes under every candidate register block, each timed in a fresh process with
the block forced (``KERNELS_BLOCK``); the other backends' epochs beside it; numba's
streaming gradient_norm against the copy limit; softmax numba over numpy.

    python -m benchmarks.cpu_figures [--blocks 8x3x512,4x3x256,...] [--repeats 5]

Prints a Markdown page: the machine, the limits, the per-block table, the four figures.
"""

from __future__ import annotations

import argparse
import os

from kernels.bench.timing.fresh import run_json

_EPOCH = r"""
import json, os, sys, time
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
import kernels
from kernels.bench.workloads import Workload
from kernels.ops import microkernel
kernel, backends, dtypes, repeats = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(","), \
    int(sys.argv[4])
stream = kernel.endswith(":stream")
kernel = kernel.split(":")[0]
out = {"blocks": microkernel.BLOCKS, "from": microkernel.BLOCK_FROM}
for dtype in dtypes:
    for backend in backends:
        fn = kernels.get(kernel, backend)
        work = Workload(kernel, K=100, dtype=dtype, stream=stream)
        work.warm_up(fn, work.batches)
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            work.run(fn)
            best = min(best, time.perf_counter() - start)
        out[f"{backend} {dtype}"] = best
print(json.dumps(out))
"""

ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}


def timed(kernel: str, backends, dtypes, repeats: int, block: str | None = None) -> dict:
    """Best-of-``repeats`` epoch seconds per ``"backend dtype"`` in a fresh process on one
    core (``block``: forced with KERNELS_BLOCK, its own numba cache)."""
    env = dict(ENV)
    if block:
        env["KERNELS_BLOCK"] = block
        env["NUMBA_CACHE_DIR"] = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"nb-{block}")
    args = (kernel, ",".join(backends), ",".join(dtypes), repeats)
    return run_json(_EPOCH, *args, env=env, timeout=1800, what=f"{kernel} epochs")


def limits() -> dict:
    """The machine's rates on one pinned core, in this process. BLAS is held to one
    thread through threadpoolctl (``pinned``): numpy is loaded by then, so the thread
    variables alone come too late, and its BLAS threads would run np.dot on every core."""
    from kernels.bench.timing import limits as lim
    from kernels.bench.timing.threads import pinned

    with pinned(1):
        rates = {f"gemm {d}": lim.peak_flops(d) for d in ("float64", "float32")}
        rates |= {f"fma {d}": lim.fma_flops(d) for d in ("float64", "float32")}
        rates["copy"] = lim.copy_bandwidth()
    return rates


def main(argv=None) -> None:
    from kernels.bench.specs import SPECS
    from kernels.ops import blocking

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--blocks",
        default="",
        help="comma-separated MRxNVxBITS (default: the table's block and its neighbours)",
    )
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    table = {d: "x".join(map(str, b)) for d, b in blocking.block(*blocking.target()).items()}
    blocks = [b for b in args.blocks.split(",") if b] or sorted(set(table.values()))
    rates = limits()
    flop = SPECS["mlp_epoch"].flop(60_000, 600, 8, {"dh": 50})
    peak = {d: max(rates[f"gemm {d}"], rates[f"fma {d}"]) for d in ("float64", "float32")}
    from kernels.machine import cpu_model

    print(f"# {cpu_model()}: one pinned core, K = 100, dh = 50\n")
    print(
        f"Limits: float64 np.dot 2048^2 {rates['gemm float64'] / 1e9:.1f}, FMA chains "
        f"{rates['fma float64'] / 1e9:.1f} GFLOP/s; float32 {rates['gemm float32'] / 1e9:.1f}, "
        f"{rates['fma float32'] / 1e9:.1f}; copy {rates['copy'] / 1e9:.1f} GB/s "
        f"(read + write). An epoch is {flop / 1e9:.2f} GFLOP.\n"
    )
    pct = lambda seconds, dtype: f"{seconds:.3f} | {100 * flop / seconds / peak[dtype]:.0f}"
    print("| block (MR x NV x bits) | float64 s | % of rate | float32 s | % of rate |")
    print("|---|--:|--:|--:|--:|")
    for block in blocks:
        t = timed("mlp_epoch", ["numba-serial"], ["float64", "float32"], args.repeats, block)
        cells = " | ".join(
            pct(t[f"numba-serial {d}"], d) + (" (table)" if table[d] == block else "")
            for d in ("float64", "float32")
        )
        print(f"| {block} | {cells} |")
    others = ["numba-serial", "numpy", "jax"]
    t = timed("mlp_epoch", others, ["float64", "float32"], args.repeats)
    print("\nmlp_epoch per backend, the table's block (s | % of the FLOP rate):\n")
    for d in ("float64", "float32"):
        print(f"- {d}: " + "; ".join(f"{b} {pct(t[f'{b} {d}'], d)} %" for b in others))
    g = timed("gradient_norm:stream", ["numba-serial", "numpy"], ["float64"], args.repeats)
    nbytes = SPECS["gradient_norm"].bytes(60_000, 600, 8, {"side": 28})
    numba, numpy = g["numba-serial float64"], g["numpy float64"]
    print(
        f"\ngradient_norm streaming (out=), float64: numba {numba:.3f} s, "
        f"{100 * nbytes / numba / rates['copy']:.0f} % of the copy limit; numpy {numpy:.3f} s"
    )
    s = timed("softmax", ["numba", "numpy"], ["float64"], args.repeats)
    numba, numpy = s["numba float64"], s["numpy float64"]
    print(
        f"\nsoftmax float64 per epoch: numba {numba:.4f} s, numpy {numpy:.4f} s: "
        f"{numpy / numba:.2f}x"
    )


if __name__ == "__main__":
    main()
