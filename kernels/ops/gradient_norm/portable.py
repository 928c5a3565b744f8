"""gradient_norm, ``array-api`` backend: whole-batch differences written once against
the array API standard, so one source runs on NumPy, CuPy (GPU), PyTorch or any
conforming library."""

from . import kernel


def _derivative(xp, u, axis: int):
    """numpy.gradient along ``axis`` (1 rows, 2 columns) of u (N, H, W)."""

    def part(start, stop):
        index = [slice(None)] * 3
        index[axis] = slice(start, stop)
        return u[tuple(index)]

    n = u.shape[axis]
    return xp.concat(
        [
            part(1, 2) - part(0, 1),
            (part(2, n) - part(0, n - 2)) / 2,
            part(n - 1, n) - part(n - 2, n - 1),
        ],
        axis=axis,
    )


@kernel.portable
def gradient_norm(xp, u):
    """array-API expressions on the whole batch (NumPy, CuPy, PyTorch, ...)."""
    d_row, d_col = _derivative(xp, u, 1), _derivative(xp, u, 2)
    return d_row * d_row + d_col * d_col
