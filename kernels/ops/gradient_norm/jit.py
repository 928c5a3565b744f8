"""gradient_norm, ``numba`` backend: one compiled pass over the pixels, each image in
explicit vectors of the register block's width (``vector_stencil``). Images are spread
over numba's threads when it has more than one; with one thread a serial variant runs,
so the parallel code (slow to load from the cache) and the thread pool are never
started. Where the output streams (stores.use_stream_stores), it is written with
non-temporal stores.
"""

import numba

from .. import microkernel, numba_cache, stores, vector_stencil
from ..numba_support import threads
from ..stores import fence
from ..vector_stencil import images_ordinary, images_streamed, tables
from . import kernel

# the images' vectors are the block's: code compiled for one block is kept apart
numba_cache.track(__file__, stores, vector_stencil, key=microkernel.BLOCK)


@numba.njit(cache=True, inline="always")
def _images(u, g, first, last, half, stream, rows, cols):
    """Images first to last (u, g C-contiguous) in one run of vectors (rows, cols: their
    ``vector_stencil.tables``); ``stream``: the output's whole lines with non-temporal stores."""
    _, h, w = u.shape
    f, o, size = u.reshape(u.size), g.reshape(g.size), h * w
    if stream:
        images_streamed(f, o, first * size, (last - first) * size, h, w, half, rows, cols)
        fence()
    else:
        images_ordinary(f, o, first * size, (last - first) * size, h, w, half, rows, cols)


@numba.njit(cache=True)
def _serial(u, g, half, stream, rows, cols):
    _images(u, g, 0, u.shape[0], half, stream, rows, cols)


@numba.njit(cache=True, parallel=True)
def _parallel(u, g, half, stream, rows, cols, T):
    """The images in T blocks, one per thread."""
    N = u.shape[0]
    for t in numba.prange(T):
        _images(u, g, t * N // T, (t + 1) * N // T, half, stream, rows, cols)


def _arguments(u, g):
    """half, the store kind and the edge tables of the compiled passes."""
    return (u.dtype.type(0.5), stores.use_stream_stores(g), *tables(*u.shape[1:], u.dtype))


@kernel
def gradient_norm(u, g):
    """one compiled pass: each pixel read once and written once (images over numba's
    threads when it has more than one)."""
    T = threads()
    if len(u) > 1 and T > 1:
        _parallel(u, g, *_arguments(u, g), T)
    else:
        _serial(u, g, *_arguments(u, g))


@kernel
def gradient_norm_serial(u, g):
    """one compiled pass on the calling thread, whatever numba's thread count."""
    _serial(u, g, *_arguments(u, g))
