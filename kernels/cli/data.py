"""Say where Fashion-MNIST was found (fetching it if needed) and check its checksums.

Exit status 1 when a file is missing or bad (each named, with how to get a good copy)."""

from __future__ import annotations


def arguments(p) -> None:
    p.add_argument("--path", help="a directory holding the four IDX files")


def run(args) -> int:
    from ..data import status

    rows = status(args.path)
    for name, where, verdict in rows:
        print(f"{name}: {where}: {verdict}")
    return 0 if all(v.startswith("ok") for _, _, v in rows) else 1
