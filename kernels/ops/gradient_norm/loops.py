"""gradient_norm, ``python`` backend: plain loops over scalars (the reference)."""

from . import kernel


@kernel
def gradient_norm(u, g):
    """plain Python loops over scalars; no NumPy call in the loops."""
    n_img, h, w = u.shape
    out = []
    for img in u.tolist():  # Python floats from here on
        for i in range(h):
            # one-sided at the first and last row, central (halved) inside
            up, down, scale = (
                (i + 1, i, 1.0)
                if i == 0
                else (i, i - 1, 1.0)
                if i == h - 1
                else (i + 1, i - 1, 0.5)
            )
            for j in range(w):
                left, right, cscale = (
                    (0, 1, 1.0)
                    if j == 0
                    else (j - 1, j, 1.0)
                    if j == w - 1
                    else (j - 1, j + 1, 0.5)
                )
                d_row = (img[up][j] - img[down][j]) * scale
                d_col = (img[i][right] - img[i][left]) * cscale
                out.append(d_row * d_row + d_col * d_col)
    g.reshape(-1)[:] = out  # one write-back (g is C-contiguous)
