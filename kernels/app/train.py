"""``python -m kernels train`` and ``evaluate``: train an MLP, or softmax regression on
pixels or gradient-norm features, on real Fashion-MNIST with any backend, logging
train / validation / test error and loss after every epoch."""

from __future__ import annotations

import csv
import json
import math
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..data import N_CLASSES, load_fashion_mnist
from ..ops import mlp
from .curves import plot_curves
from .model_files import save_model
from .models import MODELS, standardize, standardizer
from .settings import Settings

# A run has diverged when its mean training loss exceeds this many times the loss of a
# uniform guess, log(N_CLASSES) = 2.30: healthy runs start there and only go down, while
# a blown-up run (say lr = 1e6) reaches 1e2 to 1e117 long before the loss is inf or NaN.
DIVERGENCE_FACTOR = 3.0

COLUMNS = (
    "epoch",
    "train_error",
    "train_loss",
    "valid_error",
    "valid_loss",
    "test_error",
    "test_loss",
    "lr",
    "seconds",
)
# the printed table, 80 columns wide: header, (width, format) per column
HEADER = ("epoch", "tr err", "tr loss", "va err", "va loss", "te err", "te loss", "lr", "s")
FORMATS = ((5, "d"), *[(8, ".4f")] * 6, (9, ".3g"), (8, ".2f"))
OUTPUTS = ("log.csv", "curves.png", "model.npz", "summary.json")


def split(s: Settings):
    """(train, valid, test) arrays: a seeded split of the training set, the test set."""
    X, y = load_fashion_mnist("train", dtype=s.dtype)
    Xt, yt = load_fashion_mnist("test", dtype=s.dtype)
    X, y, Xt, yt = X[: s.limit], y[: s.limit], Xt[: s.limit], yt[: s.limit]
    order = np.random.default_rng(s.seed).permutation(len(X))
    n_valid = s.valid_size()
    train, valid = order[: len(X) - n_valid], order[len(X) - n_valid :]
    return (X[train], y[train]), (X[valid], y[valid]), (Xt, yt)


def fit(model, data, s: Settings, out: Path, report=lambda row: None, progress=None) -> dict:
    """Train ``model`` for ``s.epochs`` (or until early stopping), writing ``out/log.csv``
    after every epoch; returns the summary. ``data`` is ((X, y), (Xv, yv), (Xt, yt)) of
    features. Raises mlp.DivergenceError, naming the epoch, when the training loss is not
    finite or exceeds DIVERGENCE_FACTOR * log(N_CLASSES)."""
    (X, y), (Xv, yv), (Xt, yt) = data
    rng = np.random.default_rng(s.seed + 1)
    best = {"valid_loss": math.inf, "epoch": 0, "state": model.state()}
    rows = []
    with open(out / "log.csv", "w", newline="") as f:
        log = csv.DictWriter(f, COLUMNS)
        log.writeheader()
        for epoch in range(1, s.epochs + 1):
            lr = s.lr_at(epoch)
            order = rng.permutation(len(X)) if s.shuffle else None
            Xe, ye = (X[order], y[order]) if s.shuffle else (X, y)
            start = time.perf_counter()
            try:
                epoch_loss = model.epoch(Xe, ye, lr, progress or (lambda done: None))
            except mlp.DivergenceError as exc:
                raise mlp.DivergenceError(f"training diverged in epoch {epoch}: {exc}") from exc
            seconds = time.perf_counter() - start
            row = {"epoch": epoch, "lr": lr, "seconds": round(seconds, 4)}
            for name, (A, b) in (("train", (X, y)), ("valid", (Xv, yv)), ("test", (Xt, yt))):
                error, loss, _ = (
                    mlp.evaluate_scores(model.scores, A, b)
                    if len(b)
                    else (math.nan, math.nan, None)
                )
                row[f"{name}_error"], row[f"{name}_loss"] = error, loss
            limit = DIVERGENCE_FACTOR * math.log(N_CLASSES)
            too_high = [v for v in (epoch_loss, row["train_loss"]) if not v <= limit]  # NaN too
            if too_high:
                worst = too_high[0]
                raise mlp.DivergenceError(
                    f"training diverged in epoch {epoch}: the mean training loss reached "
                    f"{worst:.4g}, above {DIVERGENCE_FACTOR:g} x log({N_CLASSES}) = {limit:.3g} "
                    f"(a uniform guess "
                    f"scores {math.log(N_CLASSES):.3g}); lower --lr (now {lr}). No model was saved"
                )
            log.writerow(row)
            f.flush()
            rows.append(row)
            report(row)
            if len(yv) and row["valid_loss"] < best["valid_loss"]:
                best = {"valid_loss": row["valid_loss"], "epoch": epoch, "state": model.state()}
            if s.early_stopping and epoch - best["epoch"] >= s.early_stopping:
                break
    if s.early_stopping:
        model.load(best["state"])  # keep the parameters of the best validation loss
    final = rows[-1] if not s.early_stopping else rows[best["epoch"] - 1]
    return {
        "settings": asdict(s),
        "backends": s.backends(),
        "epochs_run": len(rows),
        "best_epoch": final["epoch"],
        "final": final,
        "stopped_early": len(rows) < s.epochs,
    }


def train(s: Settings, out: str | Path, console=None) -> dict:
    """The whole run: checks, data, training with a live table, then plot and model.
    On any error the files this run wrote are removed."""
    s.check()
    out = Path(out)
    if any((out / name).exists() for name in OUTPUTS):
        raise FileExistsError(
            f"{out} already holds a run ({', '.join(OUTPUTS)}); choose another --out or delete it"
        )
    created_dir = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        return _train(s, out, console)
    except BaseException:
        for name in OUTPUTS:
            (out / name).unlink(missing_ok=True)
        if created_dir and not any(out.iterdir()):
            out.rmdir()
        raise


def _train(s: Settings, out: Path, console) -> dict:
    from rich.console import Console
    from rich.progress import Progress

    console = console or Console()
    (X, y), (Xv, yv), (Xt, yt) = split(s)
    model = MODELS[s.model](s, X.shape[1])
    raw = [(model.features(A), b) for A, b in ((X, y), (Xv, yv), (Xt, yt))]
    mean, std = standardizer(raw[0][0])  # from the training split only
    data = tuple((standardize(F, mean, std), b) for F, b in raw)
    console.print(
        f"{s.model} ({s.features}), {len(y)} train / {len(yv)} valid / {len(yt)} "
        f"test examples, {s.dtype}; backends: "
        + ", ".join(f"{k} {b}" for k, b in s.backends().items())
    )
    console.print(
        "columns: error rate (err) and mean cross-entropy (loss) on the train (tr), "
        "valid (va) and test (te) sets, learning rate, seconds of the epoch"
    )
    header = " ".join(f"{name:>{width}s}" for name, (width, _) in zip(HEADER, FORMATS))
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("epoch 1", total=len(y))
        bar.console.print(header)
        rows = []

        def report(row):
            rows.append(row)
            bar.console.print(
                " ".join(f"{row[c]:>{width}{spec}}" for c, (width, spec) in zip(COLUMNS, FORMATS))
            )
            bar.update(task, completed=0, description=f"epoch {row['epoch'] + 1}")

        summary = fit(model, data, s, out, report, lambda done: bar.update(task, completed=done))
    plot_curves(
        rows,
        out / "curves.png",
        f"Fashion-MNIST, {s.model}"
        + (f" ({s.hidden} hidden, {s.activation})" if s.model == "mlp" else f" ({s.features})"),
    )
    save_model(model, (mean, std), summary, out / "model.npz")
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    f = summary["final"]
    console.print(
        f"{'best' if s.early_stopping else 'final'} epoch {f['epoch']}: test error "
        f"{f['test_error']:.4f} (accuracy {1 - f['test_error']:.2%}), written to {out}"
    )
    return summary


__all__ = ["Settings", "train", "fit", "DIVERGENCE_FACTOR"]
