"""gradient_norm, ``numba`` backend: one compiled pass over the pixels, each image in
explicit vectors of the register block's width (``vector_stencil``). Images are spread
over numba's threads when it has more than one; with one thread a serial variant runs,
so the parallel code (slow to load from the cache) and the thread pool are never
started. Where the output streams (stores.use_stream_stores), each image is computed
into a cache-hot scratch image and copied out with non-temporal stores.
"""

import numba
import numpy as np

from .. import microkernel, numba_cache, stores, vector_stencil
from ..numba_support import threads
from ..stores import fence, stream_copy
from ..vector_stencil import gradient_image
from . import kernel

# the images' vectors are the block's: code compiled for one block is kept apart
numba_cache.track(__file__, stores, vector_stencil, key=microkernel.BLOCK)


@numba.njit(cache=True, inline="always")
def _images(u, g, first, last, half, stream):
    """Images first to last (u, g C-contiguous); ``stream``: each through a scratch
    image, copied out with non-temporal stores."""
    _, h, w = u.shape
    f, size = u.reshape(u.size), h * w
    if not stream:
        o = g.reshape(g.size)
        for n in range(first, last):
            gradient_image(f, o, n * size, n * size, h, w, half)
        return
    scratch = np.empty(size, g.dtype)
    for n in range(first, last):
        gradient_image(f, scratch, n * size, 0, h, w, half)
        stream_copy(g[n].reshape(size), scratch)
    fence()


@numba.njit(cache=True)
def _serial(u, g, half, stream):
    _images(u, g, 0, u.shape[0], half, stream)


@numba.njit(cache=True, parallel=True)
def _parallel(u, g, half, stream, T):
    """The images in T blocks, one per thread (each with its own scratch image)."""
    N = u.shape[0]
    for t in numba.prange(T):
        _images(u, g, t * N // T, (t + 1) * N // T, half, stream)


@kernel
def gradient_norm(u, g):
    """one compiled pass: each pixel read once and written once (images over numba's
    threads when it has more than one)."""
    T = threads()
    half, stream = u.dtype.type(0.5), stores.use_stream_stores(g)
    if len(u) > 1 and T > 1:
        _parallel(u, g, half, stream, T)
    else:
        _serial(u, g, half, stream)


@kernel
def gradient_norm_serial(u, g):
    """one compiled pass on the calling thread, whatever numba's thread count."""
    _serial(u, g, u.dtype.type(0.5), stores.use_stream_stores(g))
