"""Did HEAD make anything slower than BASE? asv builds both commits; each kernel's epoch
over a same-process reference, several processes per commit, rank test.

Exit status 0: nothing slower; 1: something slower; 2: an error (a bad commit, option
or environment), so that a CI gate can tell a regression from a mistake."""

from __future__ import annotations

from .options import positive


def arguments(p) -> None:
    from ..bench.experiments.compare import ROUNDS, selected

    try:
        names = "; ".join(selected(None))
    except (OSError, ValueError, StopIteration, SyntaxError):  # not at the repository root
        names = "see benchmarks/normalised.py"
    p.add_argument("base", help="the commit compared against (e.g. main)")
    p.add_argument("head", help="the commit under test (e.g. HEAD)")
    p.add_argument("--bench", metavar="REGEX", help=f"only benchmarks whose name matches ({names})")
    p.add_argument("--json", metavar="PATH", help="also write the records as JSON")
    p.add_argument(
        "--rounds", type=positive, default=ROUNDS, help=f"asv runs per commit (default {ROUNDS})"
    )


def run(args) -> int:
    from rich.console import Console

    from ..bench.experiments import compare

    console = Console(stderr=True)
    records = compare.compare(
        args.base,
        args.head,
        args.bench,
        args.rounds,
        progress=lambda line: console.print(line, style="dim", highlight=False),
        json_path=args.json,
    )
    from ..bench.renderers.compare_table import table

    Console().print(table(records))
    for r in records:
        print(f"{r['benchmark']}: {r['evidence']}")
    if args.json:
        compare.save_json(records, args.json)
    return 1 if any(r["verdict"] == "slower" for r in records) else 0
