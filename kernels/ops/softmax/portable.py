"""softmax, ``array-api`` backend: the row-wise expressions written once against the
array API standard (NumPy, CuPy on a GPU, PyTorch, ...)."""

from . import kernel


@kernel.portable
def softmax(xp, a):
    """array-API expressions over rows (NumPy, CuPy, PyTorch, ...)."""
    e = xp.exp(a - xp.max(a, axis=1, keepdims=True))  # NaN/inf rows give NaN, as scipy's
    return e / xp.sum(e, axis=1, keepdims=True)
