"""asv benchmarks: seconds per Fashion-MNIST epoch (K = 100, one pinned thread) of each
kernel x backend, plus the variants, what one epoch learns, the physical limits and
the cold start. See the README's asv section for the budget and the workflow."""

import inspect
import os

import kernels
from kernels.bench import workloads
from kernels.bench.specs import SPECS
from kernels.data import load_fashion_mnist
from kernels.ops import mlp

from . import common
from .common import compiled_or_array, harness, pin

coldstart, limits, stopwatch = (
    harness(m) for m in ("experiments.coldstart", "timing.limits", "timing.stopwatch")
)
try:  # the suite also runs on older commits (asv's history), which have no scaling sweep
    scaling = harness("experiments.scaling")
except ImportError:
    scaling = None
try:  # the sweep's points, in their own module since the harness had sub-packages
    points = harness("points")
except ImportError:
    points = scaling
# The history's sweep, written here (the suite's parameters must be the same on every
# commit it runs on): the quick grid (kernels.bench.settings) without K = 60,000, one call
# per epoch, which cost 13 of a quick run's 186 s (`python -m kernels scaling` has it),
# and the backends of the 2 x 2's compiled and array columns; n/a where a kernel lacks one
SCALING_K, SCALING_DH = [1, 16, 100, 1024], [10, 100, 1000]
SWEPT = ["jax", "numba", "numpy"]


def class_name(kernel: str) -> str:
    """The asv class of a kernel's epochs: ``mlp_epoch`` -> ``MlpEpoch``."""
    return "".join(part.capitalize() for part in kernel.split("_"))


def own_axes(kernel: str) -> dict[str, list[int]]:
    """The kernel's own axes that asv times the epoch along: ``{axis: [base, *asv]}``
    (dh at 50 and 100 for the MLP; an axis without further asv values is left at its
    base)."""
    axes = SPECS[kernel].axes
    if axes and isinstance(axes[0], str):  # older commits: axes by name, dh at 50 and 100
        return {"dh": [50, 100]} if "dh" in axes else {}
    return {a.name: [a.base, *a.asv] for a in axes if a.asv}


def epoch_class(kernel: str) -> type:
    """``time_epoch`` of ``kernel`` per backend, and per size of its own axes
    (``own_axes``): generated from the registry and the Spec, so a new kernel or backend
    is timed with no edit here."""
    widths = own_axes(kernel)
    return type(
        class_name(kernel),
        (common._Epoch,),
        {
            "__module__": __name__,
            "kernel": kernel,
            "__doc__": f"Seconds per Fashion-MNIST epoch of {kernel}, per backend.",
            "params": [compiled_or_array(kernel), *widths.values()],
            "param_names": ["backend", *widths],
        },
    )


for _kernel in kernels.KERNELS:
    globals()[class_name(_kernel)] = epoch_class(_kernel)


class PlainPython(common.Prepared):
    """The plain-Python references: a fixed slice of the epoch (the kernel's spec), timed
    three times; the median, scaled to the 600 minibatches, is the figure."""

    params = [[k for k in kernels.KERNELS if "python" in kernels.backends(k)]]
    param_names = ["kernel"]

    def setup(self, kernel):
        self.prepare(kernel, "python")

    def track_epoch_seconds_extrapolated(self, kernel):
        seconds = stopwatch.time_run(self.work, self.fn, self.batches, rounds=3)
        return round(stopwatch.extrapolate(seconds, self.batches, self.work.batches), 3)

    track_epoch_seconds_extrapolated.unit = "seconds (extrapolated)"


class Variants(common.Prepared):
    """float32 and two threads beside the headline float64 / one thread, for the numba
    backends, so the history of the dtype and thread speed-ups is kept."""

    params = [
        [k for k in kernels.KERNELS if getattr(SPECS[k], "variants", True)],
        ["float64", "float32"],
        [1, 2],
    ]
    param_names = ["kernel", "dtype", "threads"]

    def setup(self, kernel, dtype, threads):
        if (dtype, threads) == ("float64", 1):
            raise NotImplementedError(
                f"the headline epoch: {class_name(kernel)}.time_epoch times it"
            )
        if threads > 1 and "numba-serial" not in kernels.backends(kernel):
            raise NotImplementedError(
                f"numba runs {kernel} on one thread whatever its count "
                f"(no numba-serial twin in the registry)"
            )
        self.prepare(kernel, "numba", dtype=dtype, threads=threads)

    def time_epoch(self, *params):
        """One whole epoch (600 minibatches of 100)."""
        self.work.run(self.fn)


class Learning(common.Prepared):
    """What one SGD epoch from seed 0 at lr 0.1 learns: the test error of numpy's and
    numba's epochs (every other backend's parameters after the epoch agree with theirs
    to 1e-7 in the equality tests)."""

    params = [[b for b in ("numpy", "numba") if b in kernels.backends("mlp_epoch")]]
    param_names = ["backend"]

    def setup(self, backend):
        self.prepare("mlp_epoch", backend)

    def track_test_error(self, backend):
        _, p = self.work.run(self.fn)
        error, _ = mlp.evaluate(p, *load_fashion_mnist("test"))
        return round(100 * error, 2)

    track_test_error.unit = "% test error"


class Limits:
    """The physical limit of each kernel's epoch on this machine, in seconds (lower is a
    faster machine): the report's "% of limit" is limit / time_epoch of the same commit.
    The rates are measured once per run (``setup_cache``), one pinned thread."""

    params = [list(kernels.KERNELS), ["float64", "float32"]]
    param_names = ["kernel", "dtype"]
    rounds = 1
    timeout = 300

    def setup_cache(self):
        pin(1)
        rates = getattr(limits, "machine_rates", None) or limits.measure  # older commits
        return {dtype: rates(dtype, quick=True) for dtype in self.params[1]}

    def track_limit_seconds(self, rates, kernel, dtype):
        work = workloads.Workload(kernel, dtype=dtype, n=100)  # the work model only
        return round(work.limit_seconds(rates[dtype]), 4)

    track_limit_seconds.unit = "seconds"


class ColdStart:
    """Compiled kernels in a new process: a fresh compile, and the first call with a warm
    cache (numba's cache=True, JAX's persistent compilation cache)."""

    # the backends whose first call compiles (older commits: numba and jax)
    params = [
        list(kernels.KERNELS),
        list(getattr(kernels.registry, "compiled", lambda: ("numba", "jax"))()),
    ]
    param_names = ["kernel", "backend"]
    rounds = 1
    timeout = 600

    def setup_cache(self):
        """Once per run: two probe processes (empty cache, then warm)."""
        if not hasattr(coldstart, "cold_starts"):  # older commits
            return coldstart.measure()
        return coldstart.cold_starts(keep=os.environ.get("NUMBA_CACHE_DIR"))

    def setup(self, cold, kernel, backend):
        if f"{backend}:{kernel}" not in cold["compile"]:
            raise NotImplementedError(f"{backend} cannot run here")

    def track_compile_seconds(self, cold, kernel, backend):
        return round(cold["compile"][f"{backend}:{kernel}"], 3)

    def track_cached_first_call_seconds(self, cold, kernel, backend):
        return round(cold["cached"][f"{backend}:{kernel}"], 4)

    track_compile_seconds.unit = track_cached_first_call_seconds.unit = "seconds"


class ScalingK:
    """Seconds per example against the minibatch size K (the scaling sweep's K axis at
    its quick grid, float64, dh 50, one pinned thread, cache-hot), so the history keeps
    the curves. One sweep of the K and dh axes per run, in ``setup_cache`` (asv keys its
    cache on the function, so ScalingWidth shares it); each parameter reads its point."""

    params = [list(kernels.KERNELS), SWEPT, SCALING_K]
    param_names = ["kernel", "backend", "K"]
    axis = "K"
    rounds = 1
    timeout = 600

    def setup_cache(self):
        if scaling is None:
            return None
        pin(1)
        grid = {"K": SCALING_K, "dh": SCALING_DH}
        only = (
            {"backends": SWEPT} if "backends" in inspect.signature(scaling.sweep).parameters else {}
        )  # older commits sweep every one
        return scaling.sweep(grid, quick=True, slow=False, progress=False, **only)

    def setup(self, sweep, kernel, backend, size):
        if sweep is None:
            raise NotImplementedError("this commit has no scaling sweep")
        if hasattr(points, "BASE"):  # older commits: dh and side fields of every point
            where = {**points.BASE, self.axis: size}
        else:
            where = {**points.headline(kernel), self.axis: size}
        found = points.points_of(sweep, kernel=kernel, backend=backend, dtype="float64", **where)
        if not found:
            raise NotImplementedError(f"{kernel}/{backend} not measured here")
        self.point = found[0]

    def track_seconds_per_example(self, sweep, kernel, backend, size):
        return float(f"{self.point.seconds_per_example:.3g}")

    track_seconds_per_example.unit = "seconds per example"


class ScalingWidth(ScalingK):
    """Seconds per example of the MLP kernels against the hidden width dh (K = 100)."""

    params = [[k for k in kernels.KERNELS if "dh" in own_axes(k)], SWEPT, SCALING_DH]
    param_names = ["kernel", "backend", "dh"]
    axis = "dh"
