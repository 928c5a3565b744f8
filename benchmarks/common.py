"""What the asv and pytest-benchmark suites share: skipping unavailable backends and the
setup of one epoch benchmark (docs/design.md, section 6)."""

import dataclasses
import functools
import importlib
import os

import kernels
from kernels.bench.workloads import Workload
from kernels.data import load_fashion_mnist
from kernels.registry import entry


def harness(home: str):
    """A harness module by its home (``"timing.limits"``). asv runs this suite against
    older commits too (its history, ``compare``), where the harness was one flat folder
    (``kernels.bench.limits``): there, the module by its own name."""
    try:
        return importlib.import_module(f"kernels.bench.{home}")
    except ModuleNotFoundError as exc:
        package = f"kernels.bench.{home.split('.')[0]}"
        if exc.name not in (package, f"kernels.bench.{home}"):
            raise
        return importlib.import_module(f"kernels.bench.{home.rsplit('.', 1)[-1]}")


pin = harness("timing.threads").pin

if os.environ.get("ASV_ENV_DIR"):
    # numba's cache lives in the benchmark environment, where ColdStart leaves what its
    # probes compiled: each kernel compiles once per environment, not once more per class
    os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(os.environ["ASV_ENV_DIR"], "numba-cache"))
    # asv forks every benchmark process from one that imported this suite: the data is
    # parsed there once, not once per process (0.3 s each, some 70 processes a run), and
    # jax imported once (1 s each; importing starts none of its threads, so forking after
    # it is safe). numba is left to each process: importing it fixes its thread count.
    for _dtype in ("float64", "float32"):
        load_fashion_mnist("train", dtype=_dtype)
    try:
        import kernels.ops.jax_support  # noqa: F401
    except ImportError:
        pass


def backend_or_skip(kernel, backend):
    """The backend's callable; NotImplementedError (asv's n/a) when it cannot run here."""
    try:
        return kernels.get(kernel, backend)
    except kernels.BackendUnavailable as exc:
        raise NotImplementedError(str(exc)) from exc


class Prepared:
    """Benchmarks on one kernel's epoch on real Fashion-MNIST at K = 100, pinned threads.

    asv's timing settings: one round, 3 to 5 samples of one epoch each within 10 s, no
    warm-up time (setup compiles). A second round in new processes did not narrow the
    spread between runs and doubled the cost of every benchmark.
    """

    kernel = None
    rounds = 1
    repeat = (3, 5, 10.0)
    number = 1
    min_run_count = 2
    warmup_time = 0.0
    timeout = 300

    def prepare(self, kernel, backend, sizes=None, dtype="float64", threads=1):
        """Pin the threads, build the epoch's inputs, compile (setup, never timed).

        asv re-runs ``setup`` before every sample (asv_runner's ``redo_setup``, so that
        a benchmark that mutates its state starts fresh). An epoch changes none of its
        inputs (every run copies the starting parameters), so what was prepared once in
        this process is reused: a sample then costs one epoch, not an epoch of warm-up
        plus the data and inputs rebuilt.
        """
        pin(threads)
        sizes = tuple((sizes or {}).items())  # the kernel's own axes; the rest at the base
        if backend == "example-loop" and any(v != 50 for a, v in sizes if a == "dh"):
            # a 5-12 s epoch whose per-example cost is what dh = 50 already shows; the
            # scaling sweep covers its width
            raise NotImplementedError("example-loop is timed at dh = 50 only")
        self.fn, self.work, self.batches = _prepared(kernel, backend, sizes, dtype, threads)


@functools.cache
def _prepared(kernel, backend, sizes, dtype, threads):
    """The backend, its Workload and the minibatches timed, warmed up once per process
    and setting (``threads`` is in the key because the warm-up with the threads the
    caller pinned compiles numba's serial or parallel variant)."""
    fn = backend_or_skip(kernel, backend)
    if "sizes" in {f.name for f in dataclasses.fields(Workload)}:
        work = Workload(kernel, K=100, dtype=dtype, sizes=dict(sizes))
    else:  # older commits: dh a field of every workload
        work = Workload(kernel, K=100, dtype=dtype, **dict(sizes))
    batches = work.slice_for(entry(kernel, backend).slow)
    # compile for the shapes about to be timed: one minibatch, or for a kernel called once
    # per epoch and a backend that compiles, the whole epoch (a jax scan compiles per
    # number of minibatches)
    compiles = getattr(entry(kernel, backend), "compiles", True)  # older commits: True
    work.warm_up(fn, batches if work.spec.one_call and compiles else 1)
    return fn, work, batches


class _Epoch(Prepared):  # asv discovers every public class of the suite: private base
    """``time_epoch`` of one kernel per backend (and per size of its own axes: dh for
    the MLP)."""

    def setup(self, backend, *sizes):
        """Before each benchmark: pin one thread, build the epoch's inputs, compile."""
        self.prepare(self.kernel, backend, sizes=dict(zip(self.param_names[1:], sizes)))

    def time_epoch(self, *params):
        """One whole epoch (600 minibatches of 100)."""
        self.work.run(self.fn)


def compiled_or_array(kernel):
    """The CPU backends that run whole epochs: every registered one but the plain-Python
    references, which PlainPython times on a slice, and the GPU-only ones, which
    ``python -m kernels gpu`` times on the device."""
    return [
        b
        for b in kernels.backends(kernel)
        if not entry(kernel, b).slow and getattr(entry(kernel, b), "cpu", True)
    ]  # old: no field
