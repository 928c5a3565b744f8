"""asv benchmarks: one class per registered kernel, the backend as a string parameter.

Every time is one epoch of real Fashion-MNIST (DESIGN §6) on one thread. Plain-Python
backends are too slow for whole epochs: ``time_slice`` times their first minibatches
and ``track_epoch_extrapolated`` turns that into seconds per epoch. Unavailable
backends raise NotImplementedError in ``setup`` and show as n/a.
"""
import kernels
from kernels import limits, mlp
from kernels.registry import entry
from kernels.threads import pin
from kernels.workloads import SLICE, Workload

from kernels import report

from .common import backend_or_skip

SIZES = {"K": [1, 100]}
MLP_SIZES = {"K": [1, 100], "dh": [50, 100]}


class _Epoch:
    """Shared by the generated classes below; ``kernel`` and ``params`` come from the registry."""

    kernel = None
    number = 1              # one epoch per sample; JIT warm-up happens in setup
    repeat = (3, 7, 60.0)
    warmup_time = 0.0
    timeout = 600

    def setup(self, backend, K, dh=50):
        """Before each benchmark: pin one thread, build the epoch's inputs, compile."""
        pin(1)
        self.fn = backend_or_skip(self.kernel, backend)
        self.work = Workload(self.kernel, K=K, dh=dh)
        self.slow = entry(self.kernel, backend).slow
        self.batches = min(SLICE[self.kernel], self.work.batches) if self.slow else self.work.batches
        self.work.warm_up(self.fn)

    def time_epoch(self, backend, K, dh=50):
        """One whole epoch (not for plain-Python backends: see time_slice)."""
        self.work.run(self.fn)

    def time_slice(self, backend, K, dh=50):
        """Plain-Python backends only: the first SLICE[kernel] minibatches of the epoch."""
        self.work.run(self.fn, self.batches)

    def track_epoch_extrapolated(self, backend, K, dh=50):
        """Plain-Python backends only: seconds per epoch, extrapolated from time_slice's slice."""
        return report.time_run(self.work, self.fn, self.batches, rounds=3) * self.work.batches / self.batches

    track_epoch_extrapolated.unit = "seconds (extrapolated)"

    def track_pct_of_limit(self, backend, K, dh=50):
        """limit / measured seconds per epoch, with the limit measured in this process."""
        seconds = report.time_run(self.work, self.fn, self.batches, rounds=3) * self.work.batches / self.batches
        rates = limits.measure(quick=True)
        return 100 * limits.limit_seconds(self.kernel, self.work.n, "float64", dh, rates) / seconds

    track_pct_of_limit.unit = "% of limit"

    def peakmem_epoch(self, backend, K, dh=50):
        """Peak memory of the process through an epoch (or the slice), data included."""
        self.work.run(self.fn, self.batches)


class _Accuracy:
    """Only for mlp_epoch: what one epoch learns."""

    def track_test_accuracy(self, backend, K, dh=50):
        """Test accuracy after one epoch from seed 0 at lr 0.1."""
        _, p = self.work.run(self.fn)
        error, _ = mlp.evaluate(p, *kernels.data.load_fashion_mnist("test"))
        return 100 * (1 - error)

    track_test_accuracy.unit = "% test accuracy"


def _suite(kernel):
    sizes = MLP_SIZES if kernel.startswith("mlp_") else SIZES
    names = kernels.backends(kernel)
    combos = [(b, *rest) for b in names for rest in _product(sizes)]
    slow = [c for c in combos if entry(kernel, c[0]).slow]
    fast = [c for c in combos if not entry(kernel, c[0]).slow]
    bases = (_Accuracy, _Epoch) if kernel == "mlp_epoch" else (_Epoch,)
    cls = type("".join(w.title() for w in kernel.split("_")), bases, {
        "kernel": kernel,
        "params": [list(names), *sizes.values()],
        "param_names": ["backend", *sizes],
    })
    # asv matches skip_params against each method's own attribute: copy the methods
    for method, skip in (("time_epoch", slow), ("time_slice", fast),
                         ("track_epoch_extrapolated", fast), ("track_test_accuracy", slow)):
        if hasattr(cls, method):
            setattr(cls, method, _with_skip(getattr(cls, method), skip))
    return cls


def _with_skip(method, skip):
    def wrapper(self, *params):
        return method(self, *params)
    for attr in ("__name__", "__qualname__", "__doc__", "unit"):
        if hasattr(method, attr):
            setattr(wrapper, attr, getattr(method, attr))
    wrapper.skip_params = [tuple(c) for c in skip]
    return wrapper


def _product(sizes):
    import itertools
    return list(itertools.product(*sizes.values()))


for _kernel in kernels.KERNELS:
    _cls = _suite(_kernel)
    globals()[_cls.__name__] = _cls


class Variants:
    """Float32 and two threads beside the headline float64 / one thread (K = 100, dh = 50):
    every backend that runs whole epochs, so the history of these targets is kept."""

    params = [[k for k in kernels.KERNELS if k in ("gradient_norm", "softmax", "mlp_epoch")],
              ["numpy", "numba"], ["float64", "float32"], [1, 2]]
    param_names = ["kernel", "backend", "dtype", "threads"]
    number = 1
    repeat = (3, 7, 60.0)
    warmup_time = 0.0
    timeout = 600

    def setup(self, kernel, backend, dtype, threads):
        """Before each benchmark: pin the threads (a new process each), inputs, compile."""
        pin(threads)
        self.fn = backend_or_skip(kernel, backend)
        self.work = Workload(kernel, K=100, dtype=dtype)
        self.work.warm_up(self.fn)

    def time_epoch(self, kernel, backend, dtype, threads):
        """One whole epoch."""
        self.work.run(self.fn)


class ColdStart:
    """Numba kernels in a new process: fresh compile, and first call with a warm cache."""

    params = [[k for k in kernels.KERNELS if "numba" in kernels.backends(k)]]
    param_names = ["kernel"]
    timeout = 600

    def setup_cache(self):
        """Once per run: two probe processes (empty cache, then warm)."""
        from kernels import coldstart
        return coldstart.measure()

    def track_compile_seconds(self, cold, kernel):
        return cold["compile"][kernel]

    def track_cached_first_call_seconds(self, cold, kernel):
        return cold["cached"][kernel]

    def track_import_kernels_seconds(self, cold, kernel):
        return cold["cached"]["import kernels"]

    track_compile_seconds.unit = track_cached_first_call_seconds.unit = "seconds"
    track_import_kernels_seconds.unit = "seconds"
