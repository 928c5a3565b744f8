"""Does ``kernels.fastest`` hand out the fastest backend? Each backend of a kernel is
timed directly, every one in a fresh process with default settings (no pinning, the
thread variables as the caller has them), best of ``repeats`` epochs after a warm-up
epoch; a fresh process asks ``kernels.select.choose`` for its pick at each K; the pick
must be within ``tolerance`` of the fastest.

    python -m benchmarks.check_autotune [--dtype float64,float32] [--sizes 16,100,1024]

Run ``python -m kernels autotune`` (or ``--quick``) first, under the same conditions.
"""

from __future__ import annotations

import argparse
import sys

from kernels.bench.timing.fresh import run_json

_TIME = r"""
import json, sys, time
import kernels
from kernels.bench.workloads import Workload
kernel, backend, dtype, K, n, repeats = sys.argv[1:7]
work = Workload(kernel, K=int(K), dtype=dtype, n=int(n) or None)
fn = kernels.get(kernel, backend)
work.warm_up(fn, work.batches)
best = float("inf")
for _ in range(int(repeats)):
    start = time.perf_counter()
    work.run(fn)
    best = min(best, time.perf_counter() - start)
print(json.dumps(best))
"""

_PICK = r"""
import json, sys
from kernels.select import choose
kernel, dtypes, sizes = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(",")
print(json.dumps({f"{d} {K}": choose(kernel, dtype=d, size=int(K)) for d in dtypes for K in sizes}))
"""


TRIES, WAIT = 3, 8.0  # timings of a backend disturbed by other work, seconds apart


def quietly(kernel, backend, dtype, K, examples, repeats) -> tuple[float, bool]:
    """The backend's best epoch in a fresh process, timed again (up to ``TRIES`` times)
    while other work took more than ``load.BOUND`` of a core meanwhile, as autotune
    does: (seconds, whether a try was quiet)."""
    import time

    from kernels.bench.timing import load

    for attempt in range(TRIES):
        with load.Watch() as seen:
            seconds = run_json(
                _TIME, kernel, backend, dtype, K, examples or 0, repeats, timeout=1800
            )
        if not seen.busy:
            return seconds, True
        if attempt + 1 < TRIES:
            time.sleep(WAIT)
    return seconds, False


def check(
    kernel: str = "mlp_epoch",
    dtypes=("float64", "float32"),
    sizes=(16, 100, 1024),
    examples: int | None = None,
    repeats: int = 3,
    backends=None,
) -> list[dict]:
    """Rows ``{dtype, K, pick, why, seconds: {backend: s}, fastest, ratio}``: the pick's
    directly timed seconds over the fastest's (``examples``: a slice of the epoch)."""
    from kernels.bench.experiments.passes import candidates

    names = backends or candidates(kernel)
    picks = run_json(_PICK, kernel, ",".join(dtypes), ",".join(map(str, sizes)))
    rows = []
    for dtype in dtypes:
        for K in sizes:
            seconds, busy = {}, []
            for b in names:
                seconds[b], quiet = quietly(kernel, b, dtype, K, examples, repeats)
                if not quiet:
                    busy.append(b)
            pick, why = picks[f"{dtype} {K}"]
            fastest = min(seconds, key=seconds.get)
            rows.append(
                {
                    "dtype": dtype,
                    "K": K,
                    "pick": pick,
                    "why": why,
                    "seconds": seconds,
                    "fastest": fastest,
                    "ratio": seconds[pick] / seconds[fastest],
                    "busy": busy,  # timed while other work took the machine, every try
                }
            )
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.check_autotune", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--kernel", default="mlp_epoch")
    parser.add_argument("--dtype", default="float64,float32")
    parser.add_argument("--sizes", default="16,100,1024")
    parser.add_argument(
        "--examples", type=int, help="time only the first N examples (default: the epoch)"
    )
    parser.add_argument("--tolerance", type=float, default=0.10)
    args = parser.parse_args(argv)
    rows = check(
        args.kernel, args.dtype.split(","), [int(k) for k in args.sizes.split(",")], args.examples
    )
    print(
        f"{'dtype':8s} {'K':>5s}  {'pick':13s} {'fastest':13s} {'pick/fastest':>12s}  "
        f"seconds (best of 3)"
    )
    for r in rows:
        times = ", ".join(f"{b} {s:.3g}" for b, s in r["seconds"].items())
        print(
            f"{r['dtype']:8s} {r['K']:5d}  {r['pick']:13s} {r['fastest']:13s} "
            f"{r['ratio']:12.2f}  {times}"
        )
    bad = [r for r in rows if r["ratio"] > 1 + args.tolerance]
    print(f"{len(rows) - len(bad)} within {args.tolerance:.0%} of the fastest, {len(bad)} not")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
