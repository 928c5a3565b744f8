"""A trained model on disk: model.npz holds its arrays, the feature scaling and the run's
summary (its settings); read back, checked, and scored on the test set (``evaluate``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..data import N_CLASSES, N_FEATURES, load_fashion_mnist
from ..ops import mlp
from .models import MODELS, standardize
from .settings import Settings


def save_model(model, scaling, summary: dict, path: Path) -> None:
    """model.npz: the model's arrays, the feature scaling (mean, std) and the summary."""
    mean, std = scaling
    np.savez(path, **model.state(), feature_mean=mean, feature_std=std, summary=json.dumps(summary))


def load_model(path: str | Path):
    """The model saved by ``train`` (its settings come from the embedded summary): the
    file, or the folder train wrote it into."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.npz"
    if not path.is_file():
        raise FileNotFoundError(f"no model file {path}; train one with `python -m kernels train`")
    try:  # a truncated file, another program's .npz, missing or misshapen arrays
        with np.load(path) as saved:
            summary = json.loads(str(saved["summary"]))
            s = Settings(**summary["settings"])
            s.check()
            arrays = {k: saved[k] for k in saved.files if k != "summary"}
        model = MODELS[s.model](s, N_FEATURES)
        # exactly the arrays the model holds, each of its shape: nothing broadcast,
        # nothing missing left at its initial value, nothing extra ignored
        expected = {
            **{k: v.shape for k, v in model.state().items()},
            "feature_mean": (N_FEATURES,),
            "feature_std": (N_FEATURES,),
        }
        got = {k: v.shape for k, v in arrays.items()}
        if got != expected:
            raise ValueError(
                "its arrays are "
                + ", ".join(f"{k} {v}" for k, v in sorted(got.items()))
                + "; expected "
                + ", ".join(f"{k} {v}" for k, v in sorted(expected.items()))
            )
        if not all(np.isfinite(v).all() for v in arrays.values()):
            raise ValueError("it holds NaN or infinite values")
        scaling = arrays.pop("feature_mean"), arrays.pop("feature_std")
        model.load(arrays)
    except Exception as exc:
        # NumPy reads anything that is not an .npz archive as a pickle, which it refuses
        # to load ("allow_pickle"): never advise loading it that way
        why = (
            "it is not a model file (an .npz archive of arrays)"
            if "pickle" in str(exc)
            else f"{type(exc).__name__}: {exc}"
        )
        raise ValueError(
            f"{path} is not a readable model written by `python -m kernels train` ({why})"
        ) from exc
    return model, s, scaling


def evaluate_file(path, limit: int | None = None):
    """Test error, loss and the N_CLASSES x N_CLASSES confusion matrix (rows: true class)
    of a saved model."""
    model, s, (mean, std) = load_model(path)
    Xt, yt = load_fashion_mnist("test", dtype=s.dtype)
    Xt, yt = Xt[:limit], yt[:limit]
    error, loss, predicted = mlp.evaluate_scores(
        model.scores, standardize(model.features(Xt), mean, std), yt
    )
    confusion = np.zeros((N_CLASSES, N_CLASSES), np.int64)
    np.add.at(confusion, (yt, predicted), 1)
    return error, loss, confusion
