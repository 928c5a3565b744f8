"""Run every available backend of every kernel on real images and compare each with the
plain-Python reference at the tolerances of docs/design.md.

Exit status 1 when a backend lies outside its tolerance."""

from __future__ import annotations

import sys

from .options import positive


def arguments(p) -> None:
    p.add_argument(
        "-n",
        type=positive,
        default=250,
        help="training examples to use (default 250, at most 2,000)",
    )


def run(args) -> int:
    from ..bench.experiments.agree import agreement, check_examples

    check_examples(args.n)
    print(f"{args.n} Fashion-MNIST training examples, minibatches of 100, dh = 10, float64")
    failed = []
    for kernel, backend, err, ok in agreement(n=args.n):
        print(
            f"  {kernel:14s} {backend:13s} max |difference| from python: {err:.1e}  "
            f"{'ok' if ok else 'OUTSIDE THE TOLERANCE'}"
        )
        if not ok:
            failed.append(f"{kernel}/{backend}")
    if failed:
        print(f"outside the tolerance: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0
