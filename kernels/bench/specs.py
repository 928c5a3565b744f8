"""Everything the harness knows of a kernel, its ``Spec`` in ``SPECS``: how to build the
epoch's inputs (docs/design.md, section 6), how to call a backend on its minibatches,
how many minibatches a plain-Python backend runs before extrapolating, the work model of
the physical limit, its peers, GPU contenders, variants and the note under its table.
Adding a kernel means adding its Spec here; nothing else in the harness changes."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..data import IMAGE_SHAPE, N_CLASSES, N_FEATURES
from ..ops import mlp
from ..registry import get
from . import kernel_notes, peers
from .settings import LR
from .timing import limits


@dataclass(frozen=True)
class Spec:
    """What the harness needs to know of one kernel.

    ``build(X, y, K, dh) -> inputs``; ``call(fn, inputs, batches, out)`` runs the first
    ``batches`` minibatches and returns the last result (``out``: one array receiving
    every block's output through ``out=``, or None); ``slice``: minibatches a slow
    backend runs. Work models of an epoch over N examples in ``calls`` calls:
    ``flop(N, calls, dh, itemsize, pixels)`` and ``bytes(...)`` (what crosses the
    kernel's interface: inputs read, outputs written, parameters per call); ``bound``
    says which one the physical limit divides by its rate ("flop" or "bytes").
    """

    build: Callable
    call: Callable
    slice: int
    bound: str
    flop: Callable
    bytes: Callable
    streams: bool = False  # takes out=: a streaming epoch can be measured
    one_call: bool = False  # the backend takes the whole epoch in one call
    axes: tuple[str, ...] = ("K",)  # the scaling sweep's axes: K, dh (MLP), side (images);
    #                                 with dh, asv also times its epochs at dh = 100
    peers: dict = field(default_factory=dict)  # name -> factory of the peer's callable
    gpu: bool = False  # `python -m kernels gpu` times it on the device
    gpu_peers: dict = field(default_factory=dict)  # name -> factory of a CUDA peer
    variants: bool = False  # numba's epoch also at float32 and two threads
    # name -> measure(dtype, dh, K, rounds) -> seconds: timed with the limits, best kept
    context: dict = field(default_factory=dict)
    note: Callable | None = None  # note(machine, own rows) -> a line under its table


def blocks(a: np.ndarray, K: int) -> list[np.ndarray]:
    """Consecutive minibatches of K rows (the last may be shorter)."""
    return [a[i : i + K] for i in range(0, len(a), K)]


def _call_blocks(fn, inputs, batches, out):
    K = len(inputs["blocks"][0])
    for i, block in enumerate(inputs["blocks"][:batches]):
        result = fn(block) if out is None else fn(block, out=out[i * K : i * K + len(block)])
    return result


def _images(X):
    side = math.isqrt(X.shape[1])  # 28, or 28 * scale for upsampled images
    return X.reshape(-1, side, side)


def upsample(X: np.ndarray, scale: int) -> np.ndarray:
    """(N, 784) images -> (N, 784 scale^2): each pixel repeated into a scale x scale block
    (nearest-neighbour upsampling), so the larger images hold the same pictures."""
    if scale == 1:
        return X
    images = X.reshape(-1, *IMAGE_SHAPE).repeat(scale, axis=1).repeat(scale, axis=2)
    return images.reshape(len(X), -1)


def _logits(X, y, K, dh):
    # a seeded linear layer on the images, scaled so that rows are far from uniform
    W = np.random.default_rng(0).uniform(-1, 1, (N_CLASSES, N_FEATURES)) / math.sqrt(N_FEATURES)
    return {"blocks": blocks(X @ W.T.astype(X.dtype) * 20, K)}


def _mlp_inputs(X, y, K, dh):
    return {
        "X": X,
        "y": y,
        "K": K,
        "p0": mlp.init_params(dh=dh, dtype=X.dtype, seed=0),
        "batches": list(zip(blocks(X, K), blocks(y, K))),
    }


def _bprop_inputs(X, y, K, dh):
    inputs = _mlp_inputs(X, y, K, dh)
    fprop = get("mlp_fprop", "numpy")
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
    return lambda N, calls, dh, itemsize, pixels: 2.0 * N * dh * per_example(N_FEATURES, N_CLASSES)


def _mlp_bytes(per_example, param_passes):
    # per_example(d, dh, m): values read or written per example; the parameters
    # (dh d + dh + m dh + m values) read or written param_passes times per call
    def model(N, calls, dh, itemsize, pixels):
        params = dh * (N_FEATURES + 1) + N_CLASSES * (dh + 1)
        return itemsize * (
            N * per_example(N_FEATURES, dh, N_CLASSES) + calls * param_passes * params
        )

    return model


SPECS: dict[str, Spec] = {
    # the gradient norm: 2 differences, 2 halvings, 2 squares, 1 sum, 1 sqrt per pixel
    "gradient_norm": Spec(
        build=lambda X, y, K, dh: {"blocks": blocks(_images(X), K)},
        call=_call_blocks,
        slice=20,
        bound="bytes",
        streams=True,
        axes=("K", "side"),
        gpu=True,
        variants=True,
        note=kernel_notes.stores,
        flop=lambda N, calls, dh, itemsize, pixels: 8.0 * N * pixels,
        bytes=lambda N, calls, dh, itemsize, pixels: 2.0 * N * pixels * itemsize,
    ),
    # softmax: max, subtract, exponential (counted as one), sum, scale per logit
    "softmax": Spec(
        build=_logits,
        call=_call_blocks,
        slice=600,
        bound="bytes",
        streams=True,
        peers={"scipy": peers.scipy_softmax},
        gpu=True,
        gpu_peers={"torch": peers.torch_softmax},
        variants=True,
        note=kernel_notes.exponentials,
        flop=lambda N, calls, dh, itemsize, pixels: 5.0 * N * N_CLASSES,
        bytes=lambda N, calls, dh, itemsize, pixels: 2.0 * N * N_CLASSES * itemsize,
    ),
    # fprop: x read, ha hs oa os written, parameters read
    "mlp_fprop": Spec(
        build=_mlp_inputs,
        call=_call_fprop,
        slice=2,
        bound="flop",
        axes=("K", "dh"),
        flop=_mlp_flop(lambda d, m: d + m),
        bytes=_mlp_bytes(lambda d, dh, m: d + 2 * dh + 2 * m, 1),
    ),
    # bprop: x and the forward arrays read, parameters read, gradients written
    "mlp_bprop": Spec(
        build=_bprop_inputs,
        call=_call_bprop,
        slice=2,
        bound="flop",
        axes=("K", "dh"),
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
        axes=("K", "dh"),
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
        context={"mlp_products_seconds": limits.products_seconds},
        flop=_mlp_flop(lambda d, m: 2 * d + 3 * m),
        bytes=_mlp_bytes(lambda d, dh, m: d + 1, 2),
    ),
}
