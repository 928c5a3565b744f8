"""Command line: ``python -m kernels {data,agree,...}``."""
from __future__ import annotations

import argparse
import sys


def cmd_data(args) -> int:
    """Say where Fashion-MNIST was found (fetching it if needed) and check its checksums."""
    from .data import status
    rows = status(args.path)
    for name, where, verdict in rows:
        print(f"{name:26s} {where}\n{'':26s} {verdict}")
    return 0 if all(v.startswith("ok") for _, _, v in rows) else 1


def cmd_agree(args) -> int:
    """Run every available backend of every kernel on real images and print how far each
    is from the plain-Python reference (DESIGN §5 allows 1e-10 relative in float64)."""
    from .agree import agreement
    print(f"{args.n} Fashion-MNIST training examples, minibatches of 100, dh = 10, float64")
    for kernel, backend, err in agreement(n=args.n):
        print(f"  {kernel:14s} {backend:13s} max |difference| from python: {err:.1e}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kernels", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("data", help=cmd_data.__doc__)
    p.add_argument("--path", help="a directory holding the four IDX files")
    p.set_defaults(run=cmd_data)
    p = sub.add_parser("agree", help=cmd_agree.__doc__)
    p.add_argument("-n", type=int, default=250, help="training examples to use (default 250)")
    p.set_defaults(run=cmd_agree)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
