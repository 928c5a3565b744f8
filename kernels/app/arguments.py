"""The command line's option types (checked counts, dtypes, kernels, cores) and the
options of ``python -m kernels train``, with their defaults from ``Settings``."""
from __future__ import annotations

import argparse

from ..ops.mlp import ACTIVATIONS
from .models import MODELS
from .train import Settings


def add_train_arguments(p, positive, nonnegative) -> None:
    """Add train's options to the argparse parser ``p`` (``positive``, ``nonnegative``:
    the command line's integer types)."""
    p.add_argument("--model", choices=tuple(MODELS), default=Settings.model,
                   help="what to train (default %(default)s)")
    p.add_argument("--features", choices=("pixels", "gradient-norm"), default="pixels",
                   help="inputs of softmax regression (default pixels)")
    p.add_argument("--backend", help="backend of every kernel used (default: kernels.fastest)")
    p.add_argument("--epochs", type=positive, default=Settings.epochs,
                   help="passes over the training set (default %(default)s)")
    p.add_argument("--hidden", type=positive, default=Settings.hidden, help="hidden units (default %(default)s)")
    p.add_argument("--activation", choices=ACTIVATIONS, default=Settings.activation,
                   help="hidden activation (default %(default)s)")
    p.add_argument("--lr", type=float, default=Settings.lr, help="learning rate (default %(default)s)")
    p.add_argument("--batch-size", type=positive, default=Settings.batch_size,
                   help="minibatch size K (default %(default)s)")
    p.add_argument("--weight-decay", type=float, default=Settings.weight_decay, help="L2 coefficient lam (default %(default)s)")
    p.add_argument("--seed", type=int, default=Settings.seed,
                   help="seed of the initial weights, the validation split and shuffling "
                        "(default %(default)s)")
    p.add_argument("--shuffle", action="store_true", help="reshuffle the training set every epoch")
    p.add_argument("--valid", type=nonnegative, default=Settings.valid,
                   help="validation examples split off the training set (default: a sixth of "
                        "the examples used, 10,000 of 60,000)")
    p.add_argument("--early-stopping", type=positive, metavar="PATIENCE",
                   help="stop after PATIENCE epochs without a better validation loss")
    p.add_argument("--lr-step", type=positive, default=Settings.lr_step,
                   help="multiply lr by --lr-gamma every STEP epochs (default %(default)s)")
    p.add_argument("--lr-gamma", type=float, default=Settings.lr_gamma,
                   help="(default %(default)s; 1 keeps lr constant)")
    p.add_argument("--clip", type=float, help="clip each gradient entry to [-C, C]")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                   help="(default %(default)s)")
    p.add_argument("--limit", type=positive, help="use only the first N training and test examples")
    p.add_argument("--out", metavar="DIR", help="where log.csv, curves.png, model.npz and "
                   "summary.json go (must not hold a run already; default: a new "
                   "kernels-results/train-DATE-TIME)")


def thread_list(text: str) -> list[int]:
    """--threads: one count or several, comma-separated (each >= 1)."""
    return [positive(t) for t in text.split(",")]


def dtype_list(text: str) -> list[str]:
    """--dtype: float64 and/or float32, comma-separated."""
    dtypes = text.split(",")
    bad = [d for d in dtypes if d not in ("float64", "float32")]
    if bad or len(set(dtypes)) != len(dtypes):
        raise argparse.ArgumentTypeError(f"takes float64 and/or float32 once each, comma-separated; got {text}")
    return dtypes


def at_least(low: int):
    """An argparse type: an integer >= ``low``."""
    def check(text: str) -> int:
        value = int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}; got {text}")
        return value
    check.__name__ = "integer"            # argparse's "invalid integer value: 'x'"
    return check


nonnegative, positive = at_least(0), at_least(1)


def check_cores(threads: int) -> None:
    """Raise ValueError unless this process may run on ``threads`` cores."""
    import os
    allowed = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if threads > allowed:
        raise ValueError(f"--threads {threads} asks for more cores than the {allowed} this "
                         f"process may use")


def kernel_list(text: str | None, valid=None) -> tuple[str, ...]:
    """The kernels of a comma-separated --kernels (default all ``valid``: every kernel),
    each checked."""
    from ..registry import kernel_names
    valid = valid or kernel_names()
    if not text:
        return valid
    kernels = tuple(text.split(","))
    unknown = [k for k in kernels if k not in valid]
    if unknown:
        raise ValueError(f"unknown kernel(s) {', '.join(unknown)}; valid: {', '.join(valid)}")
    return kernels
