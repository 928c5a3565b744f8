"""Everything the harness knows of a kernel, its ``Spec`` in ``SPECS``: how to build the
epoch's inputs (docs/design.md, section 6), how to call a backend on its minibatches,
how many minibatches a plain-Python backend runs before extrapolating, the work model of
the physical limit, the axes it is swept over, its peers, GPU contenders, variants and
the note under its table. Adding a kernel means adding its Spec here; nothing else in the
harness changes: the workloads, the sweep's points and the report's rows carry the sizes
of whatever axes the Spec declares."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..data import IMAGE_SHAPE, N_CLASSES, N_FEATURES, SIZES
from ..ops import mlp
from ..registry import get, role_of
from . import kernel_notes, peers
from .settings import HIDDEN, LR, SIDE, Axis
from .timing import limits


@dataclass(frozen=True)
class Spec:
    """What the harness needs to know of one kernel.

    ``axes``: the sizes its epoch is swept over besides the minibatch size K (the MLP's
    hidden width dh, the images' side, ...); ``sizes`` maps each axis name to its value.
    ``build(X, y, K, sizes) -> inputs`` from the first ``examples(sizes)`` training
    examples (default all 60,000); ``call(fn, inputs, batches, out)`` runs the first
    ``batches`` minibatches and returns the last result (``out``: one array receiving
    every block's output through ``out=``, or None); ``slice``: minibatches a slow
    backend runs. Work models of an epoch over N examples in ``calls`` calls:
    ``flop(N, calls, itemsize, sizes)`` and ``bytes(...)`` (what crosses the kernel's
    interface: inputs read, outputs written, parameters per call); ``bound`` says which
    one the physical limit divides by its rate ("flop" or "bytes").
    """

    build: Callable
    call: Callable
    slice: int
    bound: str
    flop: Callable
    bytes: Callable
    streams: bool = False  # takes out=: a streaming epoch can be measured
    one_call: bool = False  # the backend takes the whole epoch in one call
    axes: tuple[Axis, ...] = ()
    examples: Callable = lambda sizes: SIZES["train"]
    peers: dict = field(default_factory=dict)  # name -> factory of the peer's callable
    gpu: bool = False  # `python -m kernels gpu` times it on the device
    gpu_peers: dict = field(default_factory=dict)  # name -> factory of a CUDA peer
    variants: bool = False  # numba's epoch also at float32 and two threads
    # name -> measure(dtype, K, sizes, rounds) -> seconds: timed with the limits, best kept
    context: dict = field(default_factory=dict)
    note: Callable | None = None  # note(machine, own rows) -> a line under its table

    def sizes(self, given: dict | None = None) -> dict[str, int]:
        """Every axis of this kernel at its value in ``given`` (default its base); an axis
        it does not have, or a value that is not a positive integer multiple of the axis's
        ``step``, is a ValueError."""
        given = dict(given or {})
        names = [a.name for a in self.axes]
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise ValueError(
                f"this kernel has no axis {', '.join(unknown)}; its axes: "
                f"{', '.join(['K', *names])}"
            )
        for a in self.axes:
            v = given.get(a.name, a.base)
            whole = isinstance(v, numbers.Integral) and not isinstance(v, bool)
            if not (whole and v > 0 and v % a.step == 0):
                multiple = f" multiple of {a.step}" if a.step > 1 else ""
                raise ValueError(f"{a.name} must be a positive integer{multiple}; got {v!r}")
        return {a.name: int(given.get(a.name, a.base)) for a in self.axes}

    def base(self) -> dict[str, int]:
        """Every axis of this kernel at its headline value."""
        return self.sizes()

    def pick(self, given: dict) -> dict[str, int]:
        """The sizes of ``given`` on this kernel's axes (others left out): a run-wide
        setting (the report's --size dh=N) applied to the kernels that have the axis."""
        return self.sizes({k: v for k, v in given.items() if k in {a.name for a in self.axes}})


def blocks(a: np.ndarray, K: int) -> list[np.ndarray]:
    """Consecutive minibatches of K rows (the last may be shorter)."""
    return [a[i : i + K] for i in range(0, len(a), K)]


def _call_blocks(fn, inputs, batches, out):
    K = len(inputs["blocks"][0])
    for i, block in enumerate(inputs["blocks"][:batches]):
        result = fn(block) if out is None else fn(block, out=out[i * K : i * K + len(block)])
    return result


def _images(X, y, K, sizes):
    side = sizes["side"]  # a multiple of 28 (SIDE.step)
    X = upsample(X, side // SIDE.base)
    return {"blocks": blocks(X.reshape(-1, side, side), K)}


def upsample(X: np.ndarray, scale: int) -> np.ndarray:
    """(N, 784) images -> (N, 784 scale^2): each pixel repeated into a scale x scale block
    (nearest-neighbour upsampling), so the larger images hold the same pictures."""
    if scale == 1:
        return X
    images = X.reshape(-1, *IMAGE_SHAPE).repeat(scale, axis=1).repeat(scale, axis=2)
    return images.reshape(len(X), -1)


def _logits(X, y, K, sizes):
    # a seeded linear layer on the images, scaled so that rows are far from uniform
    W = np.random.default_rng(0).uniform(-1, 1, (N_CLASSES, N_FEATURES)) / math.sqrt(N_FEATURES)
    return {"blocks": blocks(X @ W.T.astype(X.dtype) * 20, K)}


def _mlp_inputs(X, y, K, sizes):
    return {
        "X": X,
        "y": y,
        "K": K,
        "p0": mlp.init_params(dh=sizes["dh"], dtype=X.dtype, seed=0),
        "batches": list(zip(blocks(X, K), blocks(y, K))),
    }


def _bprop_inputs(X, y, K, sizes):
    inputs = _mlp_inputs(X, y, K, sizes)
    fprop = get("mlp_fprop", role_of("mlp_fprop", "baseline"))  # numpy: the forward arrays
    inputs["forwards"] = [fprop(inputs["p0"], x, t) for x, t in inputs["batches"]]
    return inputs


def _call_fprop(fn, inputs, batches, out):
    p = inputs["p0"].copy()
    for x, t in inputs["batches"][:batches]:
        result = fn(p, x, t)
    return result


def _call_bprop(fn, inputs, batches, out):
    p = inputs["p0"].copy()
    for (x, t), fwd in zip(inputs["batches"][:batches], inputs["forwards"]):
        result = fn(p, x, t, fwd)
    return result


def _call_epoch(fn, inputs, batches, out):
    p = inputs["p0"].copy()  # every run starts from the same parameters
    K = inputs["K"]
    stop = batches * K
    return fn(p, inputs["X"][:stop], inputs["y"][:stop], K, LR), p


def _mlp_flop(per_example):
    # matrix-product FLOP only (element-wise work is under 1 %); per_example(d, m) counts
    # the products: fprop x W1^T, hs W2^T; bprop g_oa^T hs, g_oa W2, g_ha^T x
    return lambda N, calls, itemsize, sizes: (
        2.0 * N * sizes["dh"] * per_example(N_FEATURES, N_CLASSES)
    )


def _mlp_bytes(per_example, param_passes):
    # per_example(d, dh, m): values read or written per example; the parameters
    # (dh d + dh + m dh + m values) read or written param_passes times per call
    def model(N, calls, itemsize, sizes):
        dh = sizes["dh"]
        params = dh * (N_FEATURES + 1) + N_CLASSES * (dh + 1)
        return itemsize * (
            N * per_example(N_FEATURES, dh, N_CLASSES) + calls * param_passes * params
        )

    return model


# what the array kernels share: blocks of K examples in, one output each (streamed
# through out=), the bandwidth limit, the GPU harness and the variants time them
ARRAY = dict(call=_call_blocks, bound="bytes", streams=True, gpu=True, variants=True)
# what the MLP's one-step kernels share: 2 minibatches for plain Python, the FLOP limit
MLP_STEP = dict(slice=2, bound="flop", axes=(HIDDEN,))

SPECS: dict[str, Spec] = {
    # the gradient norm: 2 differences, 2 halvings, 2 squares, 1 sum, 1 sqrt per pixel
    "gradient_norm": Spec(
        _images,
        slice=20,
        **ARRAY,
        axes=(SIDE,),
        # the upsampled epochs hold as many pixels as the 28 x 28 one (memory stays 376 MB)
        examples=lambda sizes: SIZES["train"] // (sizes["side"] // SIDE.base) ** 2,
        note=kernel_notes.stores,
        flop=lambda N, calls, itemsize, sizes: 8.0 * N * sizes["side"] ** 2,
        bytes=lambda N, calls, itemsize, sizes: 2.0 * N * sizes["side"] ** 2 * itemsize,
    ),
    # softmax: max, subtract, exponential (counted as one), sum, scale per logit
    "softmax": Spec(
        _logits,
        slice=600,
        **ARRAY,
        peers={"scipy": peers.scipy_softmax},
        gpu_peers={"torch": peers.torch_softmax},
        note=kernel_notes.exponentials,
        flop=lambda N, calls, itemsize, sizes: 5.0 * N * N_CLASSES,
        bytes=lambda N, calls, itemsize, sizes: 2.0 * N * N_CLASSES * itemsize,
    ),
    # fprop: x read, ha hs oa os written, parameters read
    "mlp_fprop": Spec(
        _mlp_inputs,
        _call_fprop,
        **MLP_STEP,
        flop=_mlp_flop(lambda d, m: d + m),
        bytes=_mlp_bytes(lambda d, dh, m: d + 2 * dh + 2 * m, 1),
    ),
    # bprop: x and the forward arrays read, parameters read, gradients written
    "mlp_bprop": Spec(
        _bprop_inputs,
        _call_bprop,
        **MLP_STEP,
        flop=_mlp_flop(lambda d, m: d + 2 * m),
        bytes=_mlp_bytes(lambda d, dh, m: d + 2 * dh + 2 * m, 2),
    ),
    # epoch: x and the label (8 bytes, counted as one value) read, parameters read and
    # written per minibatch
    "mlp_epoch": Spec(
        build=_mlp_inputs,
        call=_call_epoch,
        slice=1,
        bound="flop",
        one_call=True,
        axes=(HIDDEN,),
        peers={
            "torch": peers.torch_mlp_epoch,
            "torch.compile": peers.torch_compiled_mlp_epoch,
            "scikit-learn": peers.sklearn_mlp_epoch,
        },
        gpu=True,
        variants=True,
        note=kernel_notes.products,
        gpu_peers={
            "torch": lambda: peers.torch_mlp_epoch(device="cuda"),
            "torch.compile": lambda: peers.torch_mlp_epoch(compiled=True, device="cuda"),
        },
        context={
            "mlp_products_seconds": lambda dtype, K, sizes, rounds: limits.products_seconds(
                dtype, sizes["dh"], K, rounds
            )
        },
        flop=_mlp_flop(lambda d, m: 2 * d + 3 * m),
        bytes=_mlp_bytes(lambda d, dh, m: d + 1, 2),
    ),
}
