"""The run settings, once: the headline workload (docs/design.md, section 6), the sizes
the sweeps visit, and what ``--quick`` means for each experiment. The experiments, the
command line and the asv suite read them here; the thread variables live with the
autotune record, which fingerprints them (``kernels.machine.THREAD_VARIABLES``)."""

from __future__ import annotations

from dataclasses import dataclass

LR = 0.1  # the learning rate of the timed SGD epochs


@dataclass(frozen=True)
class Axis:
    """A size an epoch is swept over: its headline value, the values the scaling sweep
    visits (``quick``: with --quick), how a plot names it, further values the asv suite
    times the epoch at, and the step every value is a multiple of. Every kernel has the
    minibatch axis ``MINIBATCH``; a kernel's Spec (specs.py) declares its own."""

    name: str
    base: int
    grid: tuple[int, ...]
    quick: tuple[int, ...]
    label: str
    asv: tuple[int, ...] = ()
    step: int = 1

    def values(self, quick: bool) -> tuple[int, ...]:
        return self.quick if quick else self.grid


MINIBATCH = Axis(
    "K",
    100,
    (1, 4, 16, 64, 100, 256, 1024, 4096, 60_000),
    (1, 16, 100, 1024, 60_000),
    "minibatch size K",
)
HIDDEN = Axis("dh", 50, (10, 50, 100, 500, 1000), (10, 100, 1000), "hidden units dh", asv=(100,))
# the images are upsampled by whole factors (each pixel into a block of s x s)
SIDE = Axis("side", 28, (28, 56, 112, 224), (28, 112), "image side in pixels", step=28)
K = MINIBATCH.base  # the headline minibatch size
DH = HIDDEN.base  # the headline MLP's hidden units


@dataclass(frozen=True)
class Effort:
    """How much an experiment measures, full or ``--quick``."""

    rounds: int = 5  # timed rounds per figure (the median is kept)
    slice_divisor: int = 1  # a plain-Python backend's slice of the epoch, divided by this
    warm_cold_start: bool = True  # the cold start also with a warm cache
    budget: float = 0.0  # seconds of calls per timed point (scaling, autotune)
    cap: float = 0.0  # a call over this many seconds skips its point
    sizes: tuple[int, ...] = ()  # minibatch sizes K visited (autotune, the GPU's sweep)
    patience: float = 0.0  # seconds autotune may spend measuring disturbed points again
    examples: int | None = None  # examples per timed call at most (autotune's slices)


EFFORT = {  # experiment -> {quick: Effort}
    "report": {
        False: Effort(rounds=5),
        True: Effort(rounds=3, slice_divisor=4, warm_cold_start=False),
    },
    "limits": {False: Effort(rounds=7), True: Effort(rounds=3)},
    "variants": {False: Effort(rounds=5), True: Effort(rounds=3)},
    # quick: even a compiled backend skips a call over 2 s (the example-loop MLP at
    # K = 60,000 takes 7 s per call, and its per-example curve is flat)
    "scaling": {
        False: Effort(rounds=3, budget=0.15, cap=10.0),
        True: Effort(rounds=3, budget=0.03, cap=1.0),
    },
    "autotune": {
        False: Effort(budget=0.04, cap=10.0, sizes=MINIBATCH.grid, patience=120.0),
        True: Effort(budget=0.01, cap=2.0, sizes=(16, 100, 1024), patience=25.0, examples=6000),
    },
    "gpu": {
        False: Effort(rounds=5, sizes=(1, 10, 100, 1000, 10_000)),
        True: Effort(rounds=3, sizes=(10, 100, 1000)),
    },
}


def effort(experiment: str, quick: bool) -> Effort:
    """What ``experiment`` measures, with ``--quick`` or without."""
    return EFFORT[experiment][bool(quick)]
