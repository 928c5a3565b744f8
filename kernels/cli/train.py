"""Train an MLP (or softmax regression) on Fashion-MNIST and log train/valid/test error
and loss per epoch to DIR/log.csv, with curves.png, model.npz, summary.json."""

from __future__ import annotations

from .options import nonnegative, positive

# the numeric settings: flag, type, help; each default is the Settings field of its name
NUMBERS = (
    ("--epochs", positive, "passes over the training set"),
    ("--hidden", positive, "hidden units"),
    ("--lr", float, "learning rate"),
    ("--batch-size", positive, "minibatch size K"),
    ("--weight-decay", float, "L2 coefficient lam"),
    ("--lr-step", positive, "multiply lr by --lr-gamma every STEP epochs"),
    ("--lr-gamma", float, "lr's factor every --lr-step epochs; 1 keeps lr constant"),
)


def arguments(p) -> None:
    from ..app.models import MODELS
    from ..app.settings import Settings
    from ..ops.mlp import ACTIVATIONS

    p.add_argument(
        "--model",
        choices=tuple(MODELS),
        default=Settings.model,
        help="what to train (default %(default)s)",
    )
    p.add_argument(
        "--features",
        choices=("pixels", "gradient-norm"),
        default="pixels",
        help="inputs of softmax regression (default pixels)",
    )
    p.add_argument("--backend", help="backend of every kernel used (default: kernels.fastest)")
    for flag, kind, text in NUMBERS:
        default = getattr(Settings, flag[2:].replace("-", "_"))
        p.add_argument(flag, type=kind, default=default, help=f"{text} (default {default})")
    p.add_argument(
        "--activation",
        choices=ACTIVATIONS,
        default=Settings.activation,
        help="hidden activation (default %(default)s)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=Settings.seed,
        help="seed of the initial weights, the validation split and shuffling "
        "(default %(default)s)",
    )
    p.add_argument("--shuffle", action="store_true", help="reshuffle the training set every epoch")
    p.add_argument(
        "--valid",
        type=nonnegative,
        default=Settings.valid,
        help="validation examples split off the training set (default: a sixth of "
        "the examples used, 10,000 of 60,000)",
    )
    p.add_argument(
        "--early-stopping",
        type=positive,
        metavar="PATIENCE",
        help="stop after PATIENCE epochs without a better validation loss",
    )
    p.add_argument("--clip", type=float, help="clip each gradient entry to [-C, C]")
    p.add_argument(
        "--dtype", choices=("float64", "float32"), default="float64", help="(default %(default)s)"
    )
    p.add_argument("--limit", type=positive, help="use only the first N training and test examples")
    p.add_argument(
        "--out",
        metavar="DIR",
        help="where log.csv, curves.png, model.npz and "
        "summary.json go (must not hold a run already; default: a new "
        "kernels-results/train-DATE-TIME)",
    )


def run(args) -> int:
    from ..app.train import Settings, train
    from ..bench.renderers.outputs import default_folder

    fields = {k: v for k, v in vars(args).items() if k in Settings.__dataclass_fields__}
    out = args.out or default_folder("train")
    train(Settings(**fields), out)
    print(
        f"wrote {out}/ (log.csv, curves.png, model.npz, summary.json); "
        f"`python -m kernels evaluate {out}` tests the model"
    )
    return 0
