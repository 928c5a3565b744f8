"""One epoch of each kernel on real Fashion-MNIST (docs/design.md, section 6), built
from its Spec (specs.py) and shared by the benchmarks, the report, autotune and the
agreement check; and the peers a report may name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..data import SIZES, load_fashion_mnist
from ..ops import mlp
from .settings import K, effort
from .specs import SPECS


@dataclass
class Workload:
    """The inputs of one kernel's epoch, built once outside any timed region.

    ``stream``: every block's output goes into one preallocated ``(N, ...)`` array
    through ``out=`` (memory traffic of a real stream); otherwise each output is
    discarded before the next call, so the allocator hands back the same cache-hot
    buffer. Only kernels whose spec ``streams`` take it. ``sizes``: the kernel's own axes
    (``{"dh": 100}``; those not given at their base values, ``Spec.sizes``), kept there
    complete; ``n`` at most the examples its Spec holds an epoch at these sizes.
    """

    kernel: str
    K: int = K
    dtype: str = "float64"
    n: int | None = None  # examples used; None: the whole epoch
    stream: bool = False
    sizes: dict = field(default_factory=dict)
    inputs: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self.spec = SPECS[self.kernel]
        if self.stream and not self.spec.streams:
            raise ValueError(f"{self.kernel} has no streaming epoch (it takes no out=)")
        try:
            self.sizes = self.spec.sizes(self.sizes)
        except ValueError as exc:
            raise ValueError(f"{self.kernel}: {exc}") from None
        X, y = load_fashion_mnist("train", dtype=self.dtype)
        n = min(self.n or len(X), self.spec.examples(self.sizes))
        X, y = X[:n], y[:n]
        self.n = n
        self.inputs = self.spec.build(X, y, self.K, self.sizes)
        self.out = None
        if self.stream:
            first = self.inputs["blocks"][0]
            self.out = np.empty((self.n, *first.shape[1:]), first.dtype)
            self.out.fill(0)  # touch every page now: page faults are not the kernel's

    @staticmethod
    def full_batches(K: int) -> int:
        """Minibatches in a whole epoch of the 60,000 training examples."""
        return -(-SIZES["train"] // K)

    @property
    def batches(self) -> int:
        """Minibatches in this workload's epoch (the last may be shorter)."""
        return -(-self.n // self.K)

    def slice_for(self, slow: bool, quick: bool = False) -> int:
        """Minibatches to time: all of them, or the spec's slice for a slow backend."""
        if not slow:
            return self.batches
        return min(self.batches, max(1, self.spec.slice // effort("report", quick).slice_divisor))

    def run(self, fn: Callable, batches: int | None = None):
        """Call ``fn`` on the first ``batches`` minibatches (default all); its last result."""
        b = self.batches if batches is None else min(batches, self.batches)
        return self.spec.call(fn, self.inputs, b, self.out)

    def warm_up(self, fn: Callable, batches: int | None = 1) -> None:
        """Compile (numba, jax) for the dtype and shapes about to be timed: run the same
        ``batches`` once, untimed (a jax epoch compiles per number of minibatches)."""
        self.run(fn, batches)

    def limit_seconds(self, rates: dict[str, float], N: int | None = None) -> float:
        """The physical limit of an epoch over N examples (default 60,000): FLOP / peak
        FLOP/s, or bytes / copy bandwidth, from ``rates`` measured in the same run."""
        return (
            self.work(N, self.spec.bound)
            / rates["peak_flops" if self.spec.bound == "flop" else "copy_bandwidth"]
        )

    def work(self, N: int | None = None, model: str = "flop") -> float:
        """FLOP (``model="flop"``) or bytes (``"bytes"``) of an epoch over N examples
        (default 60,000) in minibatches of K, with this workload's sizes and dtype."""
        N = N or SIZES["train"]
        fn = self.spec.flop if model == "flop" else self.spec.bytes
        return fn(N, -(-N // self.K), np.dtype(self.dtype).itemsize, self.sizes)


def outcome(result) -> list[np.ndarray]:
    """The arrays (and loss) a kernel's result holds, in a fixed order, for comparisons."""
    if isinstance(result, np.ndarray):
        return [result]
    if isinstance(result, mlp.Forward):
        return [result.ha, result.hs, result.oa, result.os, np.float64(result.loss)]
    if isinstance(result, mlp.Gradients):
        return list(result.arrays().values())
    loss, p = result  # mlp_epoch: (mean loss, parameters)
    return [np.float64(loss), *p.arrays().values()]


def check_names(names) -> tuple[str, ...]:
    """``names`` as a tuple, each a known peer that can run here; ValueError naming the
    unknown ones and those whose library does not import, before anything is timed."""
    names = tuple(names)
    known = sorted({name for spec in SPECS.values() for name in spec.peers})
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(
            f"unknown peer(s) {', '.join(unknown)}; valid: {', '.join(known)} ('' for none)"
        )
    missing = {}
    for name in names:
        for spec in SPECS.values():
            if name in spec.peers:
                try:
                    spec.peers[name]()
                except ImportError as exc:
                    missing[name] = str(exc)
                break
    if missing:
        raise ValueError(
            f"peer(s) {', '.join(missing)} cannot run here "
            f"({'; '.join(missing.values())}): install them or leave them out "
            f"of --peers"
        )
    return names


def available_peers(kernel: str, names=None) -> dict[str, Callable]:
    """The peers of ``kernel`` that import here (only ``names``, if given), as callables."""
    found = {}
    for name, factory in SPECS[kernel].peers.items():
        if names is not None and name not in names:
            continue
        try:
            found[name] = factory()
        except ImportError:
            continue
    return found
