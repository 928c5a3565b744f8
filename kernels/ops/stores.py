"""Non-temporal stores for the numba backends: a stream of output written straight to
memory, past the caches.

An ordinary store first reads the line it writes into the cache (write-allocate), so a
kernel that reads its input once and writes its output once moves three bytes for every
two it counts: at most two thirds of the copy limit, which ``np.copyto`` reaches with
non-temporal stores. A kernel that writes its output in order, in whole aligned
vectors, can store them non-temporally (``Vectors.store`` in tile.py: LLVM's
``!nontemporal``, MOVNTPS/PD on x86; vector_stencil.py does); ``fence`` orders them
before the caller returns. Worth it only where the output streams (larger than the
caches) and the CPU gains by it, so the callers ask ``use_stream_stores``. Imported only
by the numba backends.
"""

from __future__ import annotations

from numba import types
from numba.extending import intrinsic

from . import store_kind


@intrinsic
def fence(typingctx):
    """Order the non-temporal stores before what follows (x86: SFENCE)."""

    def codegen(context, builder, signature, args):
        builder.fence("seq_cst")
        return context.get_dummy_value()

    return types.void(), codegen


def use_stream_stores(out) -> bool:
    """Write ``out`` with non-temporal stores? Where the kind is non-temporal
    (``store_kind.current``: the default, unless forced or measured otherwise here by
    autotune) and ``out`` is C-contiguous and aligned to its element size."""
    return store_kind.current() == "nontemporal" and out.flags.c_contiguous and out.flags.aligned
