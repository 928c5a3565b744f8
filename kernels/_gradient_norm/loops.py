"""gradient_norm, ``python`` backend: plain loops over scalars (the reference)."""
import numpy as np

from . import prepare


def gradient_norm(images):
    """Squared gradient magnitude of each image.

    images: ``(N, H, W)`` or ``(H, W)``, float32/float64 (integers -> float64).
    Returns an array of the same shape and dtype.
    """
    u, single = prepare(images)
    n_img, h, w = u.shape
    rows = u.tolist()  # Python floats: the loops below touch no NumPy call
    out = []
    for img in rows:
        g_img = []
        for i in range(h):
            # one-sided at the first and last row, central (halved) inside
            up, down, scale = (i + 1, i, 1.0) if i == 0 else (i, i - 1, 1.0) if i == h - 1 \
                else (i + 1, i - 1, 0.5)
            g_row = []
            for j in range(w):
                left, right, cscale = (0, 1, 1.0) if j == 0 else (j - 1, j, 1.0) if j == w - 1 \
                    else (j - 1, j + 1, 0.5)
                d_row = (img[up][j] - img[down][j]) * scale
                d_col = (img[i][right] - img[i][left]) * cscale
                g_row.append(d_row * d_row + d_col * d_col)
            g_img.append(g_row)
        out.append(g_img)
    g = np.array(out, dtype=u.dtype).reshape(n_img, h, w)
    return g[0] if single else g
