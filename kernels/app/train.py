"""``python -m kernels train`` and ``evaluate``: train an MLP, or softmax regression on
pixels or gradient-norm features, on real Fashion-MNIST with any backend, logging
train / validation / test error and loss after every epoch."""
from __future__ import annotations

import csv
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..data import N_CLASSES, N_FEATURES, SIZES, load_fashion_mnist
from ..ops import mlp
from ..registry import get
from ..select import choose
from .models import MODELS, standardize, standardizer

# A run has diverged when its mean training loss exceeds this many times the loss of a
# uniform guess, log(N_CLASSES) = 2.30: healthy runs start there and only go down, while
# a blown-up run (say lr = 1e6) reaches 1e2 to 1e117 long before the loss is inf or NaN.
DIVERGENCE_FACTOR = 3.0

COLUMNS = ("epoch", "train_error", "train_loss", "valid_error", "valid_loss", "test_error",
           "test_loss", "lr", "seconds")
# the printed table, 80 columns wide: header, (width, format) per column
HEADER = ("epoch", "tr err", "tr loss", "va err", "va loss", "te err", "te loss", "lr", "s")
FORMATS = ((5, "d"), *[(8, ".4f")] * 6, (9, ".3g"), (8, ".2f"))
OUTPUTS = ("log.csv", "curves.png", "model.npz", "summary.json")


@dataclass
class Settings:
    """Everything a run depends on; saved in summary.json."""

    model: str = "mlp"                 # "mlp" or "softmax-regression"
    features: str = "pixels"           # softmax regression: "pixels" or "gradient-norm"
    backend: str | None = None         # None: kernels.fastest per kernel
    epochs: int = 10
    hidden: int = 100
    activation: str = "relu"
    lr: float = 0.2
    batch_size: int = 100
    weight_decay: float = 0.0
    seed: int = 0
    shuffle: bool = False
    valid: int | None = None           # None: a sixth of the training examples used
    early_stopping: int | None = None  # patience in epochs, on validation loss
    lr_step: int | None = 3            # with lr 0.2: 0.2, 0.1, 0.05, 0.025 (from a sweep of lr schedules)
    lr_gamma: float = 0.5
    clip: float | None = None
    dtype: str = "float64"
    limit: int | None = None           # use only the first N training and test examples

    def check(self) -> None:
        """Refuse impossible settings before anything is loaded or written."""
        def fail(message):
            raise ValueError(message)
        if self.model not in ("mlp", "softmax-regression"):
            fail(f"--model must be mlp or softmax-regression; got {self.model!r}")
        if self.features not in ("pixels", "gradient-norm"):
            fail(f"--features must be pixels or gradient-norm; got {self.features!r}")
        if self.model == "mlp" and self.features != "pixels":
            fail("--features gradient-norm goes with --model softmax-regression")
        for name in ("epochs", "hidden", "batch_size"):
            if getattr(self, name) < 1:
                fail(f"--{name.replace('_', '-')} must be >= 1; got {getattr(self, name)}")
        for name in ("lr", "weight_decay"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                fail(f"--{name.replace('_', '-')} must be finite and >= 0; got {value}")
        if self.activation not in mlp.ACTIVATIONS:
            fail(f"--activation must be one of {', '.join(mlp.ACTIVATIONS)}; got {self.activation!r}")
        n_train = self.train_size()
        if not 0 <= self.valid_size() < n_train:
            fail(f"--valid must be between 0 and {n_train - 1} (the training examples used); "
                 f"got {self.valid}")
        if self.early_stopping is not None and (self.early_stopping < 1 or self.valid_size() == 0):
            fail("--early-stopping needs a patience >= 1 and a validation set (--valid > 0)")
        if self.lr_step is not None and self.lr_step < 1:
            fail(f"--lr-step must be >= 1; got {self.lr_step}")
        if not (math.isfinite(self.lr_gamma) and 0 < self.lr_gamma):
            fail(f"--lr-gamma must be finite and > 0; got {self.lr_gamma}")
        if self.clip is not None and not (math.isfinite(self.clip) and self.clip > 0):
            fail(f"--clip must be finite and > 0; got {self.clip}")
        if self.limit is not None and self.limit < 2:
            fail(f"--limit must be >= 2; got {self.limit}")
        if self.backend is not None:
            for kernel in self.kernels():
                get(kernel, self.backend)      # KeyError / BackendUnavailable, saying why

    def train_size(self) -> int:
        """Training examples used (validation included): 60,000 or --limit."""
        return min(self.limit or SIZES["train"], SIZES["train"])

    def valid_size(self) -> int:
        """Validation examples: --valid, by default a sixth of those used (10,000 of 60,000)."""
        return self.train_size() // 6 if self.valid is None else self.valid

    def backends(self) -> dict[str, str]:
        """The backend each kernel runs on: --backend, or what kernels.fastest picks for
        this dtype and minibatch size."""
        return {k: self.backend or choose(k, dtype=self.dtype, size=self.batch_size)[0]
                for k in self.kernels()}

    def kernels(self) -> tuple[str, ...]:
        if self.model == "mlp":
            return ("mlp_epoch", "mlp_fprop") + (("mlp_bprop",) if self.clip else ())
        return ("softmax",) + (("gradient_norm",) if self.features == "gradient-norm" else ())

    def lr_at(self, epoch: int) -> float:
        """Step decay: lr * gamma ** floor((epoch - 1) / step)."""
        return self.lr * self.lr_gamma ** ((epoch - 1) // self.lr_step) if self.lr_step else self.lr


def split(s: Settings):
    """(train, valid, test) arrays: a seeded split of the training set, the test set."""
    X, y = load_fashion_mnist("train", dtype=s.dtype)
    Xt, yt = load_fashion_mnist("test", dtype=s.dtype)
    X, y, Xt, yt = X[:s.limit], y[:s.limit], Xt[:s.limit], yt[:s.limit]
    order = np.random.default_rng(s.seed).permutation(len(X))
    n_valid = s.valid_size()
    train, valid = order[:len(X) - n_valid], order[len(X) - n_valid:]
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
                error, loss, _ = mlp.evaluate_scores(model.scores, A, b) if len(b) \
                    else (math.nan, math.nan, None)
                row[f"{name}_error"], row[f"{name}_loss"] = error, loss
            limit = DIVERGENCE_FACTOR * math.log(N_CLASSES)
            too_high = [v for v in (epoch_loss, row["train_loss"]) if not v <= limit]   # NaN too
            if too_high:
                worst = too_high[0]
                raise mlp.DivergenceError(
                    f"training diverged in epoch {epoch}: the mean training loss reached {worst:.4g}, "
                    f"above {DIVERGENCE_FACTOR:g} x log({N_CLASSES}) = {limit:.3g} (a uniform guess "
                    f"scores {math.log(N_CLASSES):.3g}); lower --lr (now {lr}). No model was saved")
            log.writerow(row)
            f.flush()
            rows.append(row)
            report(row)
            if len(yv) and row["valid_loss"] < best["valid_loss"]:
                best = {"valid_loss": row["valid_loss"], "epoch": epoch, "state": model.state()}
            if s.early_stopping and epoch - best["epoch"] >= s.early_stopping:
                break
    if s.early_stopping:
        model.load(best["state"])         # keep the parameters of the best validation loss
    final = rows[-1] if not s.early_stopping else rows[best["epoch"] - 1]
    return {"settings": asdict(s), "backends": s.backends(), "epochs_run": len(rows),
            "best_epoch": final["epoch"],
            "final": final, "stopped_early": len(rows) < s.epochs}


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
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))     # epochs are whole numbers
        ax.set_ylabel("error (proportion misclassified)" if what == "error" else "mean cross-entropy")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def train(s: Settings, out: str | Path, console=None) -> dict:
    """The whole run: checks, data, training with a live table, then plot and model.
    On any error the files this run wrote are removed."""
    s.check()
    out = Path(out)
    if any((out / name).exists() for name in OUTPUTS):
        raise FileExistsError(f"{out} already holds a run ({', '.join(OUTPUTS)}); choose "
                              f"another --out or delete it")
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
    mean, std = standardizer(raw[0][0])     # from the training split only
    data = tuple((standardize(F, mean, std), b) for F, b in raw)
    console.print(f"{s.model} ({s.features}), {len(y)} train / {len(yv)} valid / {len(yt)} "
                  f"test examples, {s.dtype}; backends: "
                  + ", ".join(f"{k} {b}" for k, b in s.backends().items()))
    console.print("columns: error rate (err) and mean cross-entropy (loss) on the train (tr), "
                  "valid (va) and test (te) sets, learning rate, seconds of the epoch")
    header = " ".join(f"{name:>{width}s}" for name, (width, _) in zip(HEADER, FORMATS))
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("epoch 1", total=len(y))
        bar.console.print(header)
        rows = []

        def report(row):
            rows.append(row)
            bar.console.print(" ".join(f"{row[c]:>{width}{spec}}"
                                       for c, (width, spec) in zip(COLUMNS, FORMATS)))
            bar.update(task, completed=0, description=f"epoch {row['epoch'] + 1}")

        summary = fit(model, data, s, out, report, lambda done: bar.update(task, completed=done))
    plot_curves(rows, out / "curves.png", f"Fashion-MNIST, {s.model}"
                + (f" ({s.hidden} hidden, {s.activation})" if s.model == "mlp" else f" ({s.features})"))
    np.savez(out / "model.npz", **model.state(), feature_mean=mean, feature_std=std,
             summary=json.dumps(summary))
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    f = summary["final"]
    console.print(f"{'best' if s.early_stopping else 'final'} epoch {f['epoch']}: test error "
                  f"{f['test_error']:.4f} (accuracy {1 - f['test_error']:.2%}), written to {out}")
    return summary


def load_model(path: str | Path):
    """The model saved by ``train`` (its settings come from the embedded summary): the
    file, or the folder train wrote it into."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.npz"
    if not path.is_file():
        raise FileNotFoundError(f"no model file {path}; train one with `python -m kernels train`")
    try:   # a truncated file, another program's .npz, missing or misshapen arrays
        with np.load(path) as saved:
            summary = json.loads(str(saved["summary"]))
            s = Settings(**summary["settings"])
            s.check()
            arrays = {k: saved[k] for k in saved.files if k != "summary"}
        model = MODELS[s.model](s, N_FEATURES)
        # exactly the arrays the model holds, each of its shape: nothing broadcast,
        # nothing missing left at its initial value, nothing extra ignored
        expected = {**{k: v.shape for k, v in model.state().items()},
                    "feature_mean": (N_FEATURES,), "feature_std": (N_FEATURES,)}
        got = {k: v.shape for k, v in arrays.items()}
        if got != expected:
            raise ValueError("its arrays are " + ", ".join(f"{k} {v}" for k, v in sorted(got.items()))
                             + "; expected " + ", ".join(f"{k} {v}" for k, v in sorted(expected.items())))
        if not all(np.isfinite(v).all() for v in arrays.values()):
            raise ValueError("it holds NaN or infinite values")
        scaling = arrays.pop("feature_mean"), arrays.pop("feature_std")
        model.load(arrays)
    except Exception as exc:
        # NumPy reads anything that is not an .npz archive as a pickle, which it refuses
        # to load ("allow_pickle"): never advise loading it that way
        why = ("it is not a model file (an .npz archive of arrays)" if "pickle" in str(exc)
               else f"{type(exc).__name__}: {exc}")
        raise ValueError(f"{path} is not a readable model written by `python -m kernels train` "
                         f"({why})") from exc
    return model, s, scaling


def evaluate_file(path, limit: int | None = None):
    """Test error, loss and the N_CLASSES x N_CLASSES confusion matrix (rows: true class) of a saved model."""
    model, s, (mean, std) = load_model(path)
    Xt, yt = load_fashion_mnist("test", dtype=s.dtype)
    Xt, yt = Xt[:limit], yt[:limit]
    error, loss, predicted = mlp.evaluate_scores(
        model.scores, standardize(model.features(Xt), mean, std), yt)
    confusion = np.zeros((N_CLASSES, N_CLASSES), np.int64)
    np.add.at(confusion, (yt, predicted), 1)
    return error, loss, confusion


__all__ = ["Settings", "train", "fit", "evaluate_file", "load_model", "DIVERGENCE_FACTOR"]
