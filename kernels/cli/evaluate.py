"""Test error, loss and confusion matrix of a model saved by `train`."""

from __future__ import annotations

from .options import positive


def arguments(p) -> None:
    p.add_argument("model", help="the folder train wrote (or its model.npz)")
    p.add_argument("--limit", type=positive, help="only the first N test images")


def run(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from ..app.model_files import evaluate_file
    from ..data import CLASSES

    error, loss, confusion = evaluate_file(args.model, args.limit)
    console = Console()
    console.print(
        f"{args.model}: test error {error:.4f} (accuracy {1 - error:.2%}), "
        f"mean cross-entropy {loss:.4f} on {confusion.sum()} test images"
    )
    t = Table(
        title="confusion matrix (rows: true class, columns: predicted class)", title_justify="left"
    )
    t.add_column("true class")
    for i in range(len(CLASSES)):
        t.add_column(str(i), justify="right")
    for i, (name, row) in enumerate(zip(CLASSES, confusion)):
        t.add_row(f"{i} {name}", *(str(v) for v in row))
    console.print(t)
    return 0
