"""The shipped backends: one ``register(kernel, name, "module:function", **facts)`` call
per backend, as a new one is added (README, "Add a backend or a kernel").

The facts each strategy shares are named once below. ``rank`` is the shipped ranking,
measured by ``python -m kernels report`` (docs/results): compiled loops first, then array
code, then the per-example loop; plain Python is the reference, picked only when nothing
else runs. Unranked backends (jax, numba-serial, the GPU ones and array-api) are picked
only where autotune measures them faster, or when asked for. A new backend slots in with
a rank between two others (``rank=0.5``) without renumbering them. Module names never
shadow numpy, numba, jax or cupy.
"""

from __future__ import annotations

from .registry import register

NUMBA = ("numba", "llvmlite")
PYTHON = dict(slow=True, rank=3, role="reference", colour="tab:gray", marker="o")
EXAMPLE_LOOP = dict(rank=2, colour="tab:brown", marker="s")
NUMPY = dict(rank=1, role="baseline", versions=("numpy",), colour="tab:blue", marker="D")
JIT = dict(
    rank=0,
    role="compiled",
    needs=("numba",),
    compiles=True,
    versions=NUMBA,
    colour="tab:red",
    marker="^",
)
XLA = dict(
    needs=("jax",),
    gpu="jax",
    compiles=True,
    versions=("jax", "jaxlib"),
    colour="tab:green",
    marker="v",
)
# numba's loops on one thread, where "numba" splits them over its threads (its serial)
SERIAL = dict(needs=("numba",), versions=NUMBA, colour="tab:orange", marker="P")
# the same loops compiled for the GPU: one device thread per pixel, row or output
CUDA = dict(needs=("numba",), cpu=False, gpu="numba", colour="tab:purple", marker="X")
# array code written once against the Python array API: NumPy arrays in, NumPy out;
# CuPy (GPU), PyTorch or array-api-strict arrays in, the same library's out
PORTABLE = dict(needs=("array_api_compat",), gpu="cupy", colour="tab:cyan", marker="h")

OPS = "kernels.ops"

register("gradient_norm", "python", f"{OPS}.gradient_norm.loops:gradient_norm", **PYTHON)
register("gradient_norm", "numpy", f"{OPS}.gradient_norm.vectorized:gradient_norm", **NUMPY)
register(
    "gradient_norm", "numba", f"{OPS}.gradient_norm.jit:gradient_norm", **JIT, serial="numba-serial"
)
register("gradient_norm", "jax", f"{OPS}.gradient_norm.xla:gradient_norm", **XLA)
register("gradient_norm", "numba-serial", f"{OPS}.gradient_norm.jit:gradient_norm_serial", **SERIAL)
register("gradient_norm", "numba-cuda", f"{OPS}.gradient_norm.cuda_jit:gradient_norm", **CUDA)
register("gradient_norm", "array-api", f"{OPS}.gradient_norm.portable:gradient_norm", **PORTABLE)

register("softmax", "python", f"{OPS}.softmax.loops:softmax", **PYTHON)
register("softmax", "numpy", f"{OPS}.softmax.vectorized:softmax", **NUMPY)
register("softmax", "numba", f"{OPS}.softmax.jit:softmax", **JIT)
register("softmax", "jax", f"{OPS}.softmax.xla:softmax", **XLA)
register("softmax", "numba-cuda", f"{OPS}.softmax.cuda_jit:softmax", **CUDA)
register("softmax", "array-api", f"{OPS}.softmax.portable:softmax", **PORTABLE)

for step in ("fprop", "bprop"):
    kernel = f"mlp_{step}"
    register(kernel, "python", f"{OPS}.mlp.loops:{step}", **PYTHON)
    register(kernel, "example-loop", f"{OPS}.mlp.example_loop:{step}", **EXAMPLE_LOOP)
    register(kernel, "numpy", f"{OPS}.mlp.vectorized:{step}", **NUMPY)
    register(kernel, "numba", f"{OPS}.mlp.jit:{step}", **JIT)
    register(kernel, "jax", f"{OPS}.mlp.xla:{step}", **XLA)
    register(kernel, "numba-cuda", f"{OPS}.mlp.cuda_jit:{step}", **CUDA)
    register(kernel, "array-api", f"{OPS}.mlp.portable:{step}", **PORTABLE)

register("mlp_epoch", "python", f"{OPS}.mlp.loops:epoch", **PYTHON)
register("mlp_epoch", "example-loop", f"{OPS}.mlp.example_loop:epoch", **EXAMPLE_LOOP)
register("mlp_epoch", "numpy", f"{OPS}.mlp.vectorized:epoch", **NUMPY)
register("mlp_epoch", "numba", f"{OPS}.mlp.jit:epoch", **JIT, serial="numba-serial")
register("mlp_epoch", "jax", f"{OPS}.mlp.xla:epoch", **XLA)
register("mlp_epoch", "numba-serial", f"{OPS}.mlp.jit:epoch_serial", **SERIAL)
register("mlp_epoch", "numba-cuda", f"{OPS}.mlp.cuda_jit:epoch", **CUDA)
register("mlp_epoch", "array-api", f"{OPS}.mlp.portable:epoch", **PORTABLE)
