"""The line each kernel's Spec adds under its report table (``Spec.note``): what bounds
it besides its physical limit. Each takes the report's machine record (rates of the
run) and the kernel's own compiled and array rows, and returns a line or None."""

from __future__ import annotations

from ..data import N_CLASSES, SIZES
from .rows import Row

# why numba's epoch beat the BLAS products: before the microkernel (reports without an
# FMA-loop rate), and since
HOW_FASTER = {
    False: "them in another layout (W1 x^T, g_ha^T x from transposed buffers) that "
    "this BLAS runs faster",
    True: "the two large ones with its own register-blocked microkernel, not this BLAS",
}


def products(m: dict, rows: list[Row]) -> str | None:
    """mlp_epoch: its matrix products alone (``Spec.context``), against the best epoch."""
    seconds = m.get("mlp_products_seconds")
    if not seconds:
        return None
    best = min(rows, key=lambda r: r.seconds_per_epoch)
    share = seconds / best.seconds_per_epoch
    of_it = (
        f"the bound of a backend calling BLAS this way; {best.backend}'s epoch is "
        f"{100 * share:.3g} % of it"
        if share <= 1
        else f"{best.backend}'s epoch takes as long as these products (within 5 %): at the bound"
        if share <= 1.05
        else f"{best.backend}'s epoch ran {share:.2f}x faster than these products: it "
        f"computes {HOW_FASTER['fma_flops' in m]}, so here they bound nothing"
    )
    return (
        f"mlp_epoch: its five matrix products alone (np.dot, preallocated, the epoch's "
        f"shapes) take {seconds:.3g} s = {100 * best.limit / seconds:.3g} % of the "
        f"FLOP limit; {of_it}"
    )


def stores(m: dict, rows: list[Row]) -> str | None:
    """gradient_norm: the ceiling of ordinary stores, below the copy limit."""
    rows = [r for r in rows if r.pct_of_limit is not None]
    if not rows or not m.get("store_bandwidth"):
        return None
    ceiling = m["store_bandwidth"] / m["copy_bandwidth"]
    return (
        f"gradient_norm: ordinary stores (np.multiply into a preallocated array) run at "
        f"{m['store_bandwidth'] / 1e9:.1f} GB/s = {100 * ceiling:.3g} % of the copy limit "
        f"(memcpy's non-temporal stores skip reading each line first); as % of that "
        f"ceiling: " + ", ".join(f"{r.label} {r.pct_of_limit / ceiling:.3g} %" for r in rows)
    )


def exponentials(m: dict, rows: list[Row]) -> str | None:
    """softmax: its exponentials at np.exp's rate, the compute-side bound."""
    bound = SIZES["train"] * N_CLASSES / m["exp_rate"]
    return (
        f"softmax: its 600,000 exponentials at np.exp's rate take {bound:.3g} s per "
        f"epoch (compute-side bound); as % of it: "
        + ", ".join(f"{r.label} {100 * bound / r.seconds_per_epoch:.3g} %" for r in rows)
    )
