"""The learning curves of a training run: error and loss per epoch on the train,
validation and test sets (curves.png)."""

from __future__ import annotations

from pathlib import Path


def plot_curves(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    epochs = [r["epoch"] for r in rows]
    for ax, what in zip(axes, ("error", "loss")):
        for split_name in ("train", "valid", "test"):
            ax.plot(epochs, [r[f"{split_name}_{what}"] for r in rows], marker="o", label=split_name)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        ax.set_ylabel(
            "error (proportion misclassified)" if what == "error" else "mean cross-entropy"
        )
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
