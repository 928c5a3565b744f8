"""The settings of a training run (``python -m kernels train``): what it trains, how,
and on which backends; checked before anything is loaded or written, saved with the
model in summary.json."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..data import SIZES
from ..ops import mlp
from ..registry import get
from ..select import choose


@dataclass
class Settings:
    """Everything a run depends on; saved in summary.json."""

    model: str = "mlp"  # "mlp" or "softmax-regression"
    features: str = "pixels"  # softmax regression: "pixels" or "gradient-norm"
    backend: str | None = None  # None: kernels.fastest per kernel
    epochs: int = 10
    hidden: int = 100
    activation: str = "relu"
    lr: float = 0.2
    batch_size: int = 100
    weight_decay: float = 0.0
    seed: int = 0
    shuffle: bool = False
    valid: int | None = None  # None: a sixth of the training examples used
    early_stopping: int | None = None  # patience in epochs, on validation loss
    lr_step: int | None = 3  # with lr 0.2: 0.2, 0.1, 0.05, 0.025 (from a sweep of lr schedules)
    lr_gamma: float = 0.5
    clip: float | None = None
    dtype: str = "float64"
    limit: int | None = None  # use only the first N training and test examples

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
            fail(
                f"--activation must be one of {', '.join(mlp.ACTIVATIONS)}; got {self.activation!r}"
            )
        n_train = self.train_size()
        if not 0 <= self.valid_size() < n_train:
            fail(
                f"--valid must be between 0 and {n_train - 1} (the training examples used); "
                f"got {self.valid}"
            )
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
                get(kernel, self.backend)  # KeyError / BackendUnavailable, saying why

    def train_size(self) -> int:
        """Training examples used (validation included): 60,000 or --limit."""
        return min(self.limit or SIZES["train"], SIZES["train"])

    def valid_size(self) -> int:
        """Validation examples: --valid, by default a sixth of those used (10,000 of 60,000)."""
        return self.train_size() // 6 if self.valid is None else self.valid

    def backends(self) -> dict[str, str]:
        """The backend each kernel runs on: --backend, or what kernels.fastest picks for
        this dtype and minibatch size."""
        return {
            k: self.backend or choose(k, dtype=self.dtype, size=self.batch_size)[0]
            for k in self.kernels()
        }

    def kernels(self) -> tuple[str, ...]:
        if self.model == "mlp":
            return ("mlp_epoch", "mlp_fprop") + (("mlp_bprop",) if self.clip else ())
        return ("softmax",) + (("gradient_norm",) if self.features == "gradient-norm" else ())

    def lr_at(self, epoch: int) -> float:
        """Step decay: lr * gamma ** floor((epoch - 1) / step)."""
        return self.lr * self.lr_gamma ** ((epoch - 1) // self.lr_step) if self.lr_step else self.lr
