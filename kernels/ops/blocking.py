"""The microkernel's register block for the CPU numba compiles for, kept apart from the
kernel code (as BLIS keeps its block sizes in a table per microarchitecture).

A block is (MR rows, NV vectors, vector bits): MR * NV accumulators of C, NV vectors of
a row of B and one broadcast element of A live in the vector registers at once, so
MR * NV + NV + 1 must fit the register file (32 vector registers with AVX-512 or on
aarch64, 16 with AVX2 or SSE), and MR * NV independent chains must cover the FMA latency
times the FMA units (about 8 to 12 on the CPUs met). The choices and their measurements
per CPU are in docs/design.md, section 7.1.
"""

from __future__ import annotations

import functools
import os
import platform
from collections.abc import Callable
from pathlib import Path

Block = tuple[int, int, int]


def target() -> tuple[str, str, frozenset[str]]:
    """numba's compile target: (architecture, CPU name, enabled features). The CPU and
    features follow ``NUMBA_CPU_NAME`` and ``NUMBA_CPU_FEATURES`` where set, as numba's
    own code generator does (``generic`` in containers that share a cache), else the
    host's as llvmlite reports them."""
    from llvmlite import binding as llvm
    from numba.core import config

    cpu = config.CPU_NAME or llvm.get_host_cpu_name()
    if config.CPU_FEATURES is not None:
        features = config.CPU_FEATURES
    else:
        features = llvm.get_host_cpu_features().flatten()
    arch = llvm.get_process_triple().split("-")[0] or platform.machine()
    return arch, cpu, enabled(features)


def enabled(features: str) -> frozenset[str]:
    """The features an LLVM feature string turns on: ``"+avx2,-avx512f,+fma"`` ->
    ``{"avx2", "fma"}`` (a set, so that ``fma`` is not ``fma4``)."""
    return frozenset(f.strip()[1:] for f in features.split(",") if f.strip().startswith("+"))


def block(arch: str, cpu: str, features: frozenset[str]) -> dict[str, Block]:
    """The register block per dtype from the CPU table (what runs without a forced one).

    Intel CPUs with AVX-512 have two 512-bit FMA units and want 512-bit vectors: on the
    Xeon measured, 6 x 4 x 512 had the best mean epoch of two runs in both dtypes (the
    blocks 4 x 6, 6 x 4 and 8 x 3 change places between runs: within 10 %). Zen 4 runs
    a 512-bit FMA as two 256-bit halves, so 256-bit vectors give it the same FLOP rate
    with less waste in the column tail (dh = 50 is 6.25 vectors of 8 doubles, 12.5 of
    4). AVX2 (Zen 2, Zen 3): 4 x 3 x 256 measured best of six blocks on
    Zen 2. aarch64: NEON's 128-bit vectors, 32 registers. Anything else: 128-bit vectors,
    which LLVM lowers to whatever the target has. Measurements: docs/design.md, 7.1."""
    if arch in ("x86_64", "amd64", "i686", "i386"):
        if "avx512f" in features:
            if cpu.startswith("znver"):
                return both((6, 4, 256))
            return both((6, 4, 512))
        if "avx2" in features and "fma" in features:
            return both((4, 3, 256))
        return both((4, 2, 128))  # SSE2: every x86-64
    if arch in ("aarch64", "arm64"):
        return both((8, 2, 128))
    return both((4, 2, 128))


def l2_bytes(cache: Path = Path("/sys/devices/system/cpu/cpu0/cache")) -> int | None:
    """One core's level-2 cache in bytes, as Linux reports it (``cache``: sysfs's
    directory of the first CPU's caches), or None where it does not."""
    for index in sorted(cache.glob("index*")):
        try:
            if (index / "level").read_text().strip() != "2":
                continue
            size = (index / "size").read_text().strip().upper()
        except OSError:
            continue
        scale = {"K": 2**10, "M": 2**20}.get(size[-1:], 1)
        digits = size.rstrip("KM")
        if digits.isdigit():
            return int(digits) * scale
    return None


def both(b: Block) -> dict[str, Block]:
    """The same block for float64 and float32."""
    return {"float64": b, "float32": b}


def parse(text: str) -> dict[str, Block]:
    """Blocks written as ``MRxNVxBITS`` for both dtypes, or per dtype as
    ``float64:MRxNVxBITS,float32:MRxNVxBITS`` (``KERNELS_BLOCK``); ValueError naming the
    form otherwise."""
    if ":" not in text:
        return both(_one(text))
    blocks = {}
    for item in text.split(","):
        dtype, _, value = item.strip().partition(":")
        if dtype not in ("float64", "float32"):
            raise ValueError(f"a block is given for float64 or float32; got {item!r}")
        blocks[dtype] = _one(value)
    if set(blocks) != {"float64", "float32"}:
        raise ValueError(f"give a block for both float64 and float32; got {text!r}")
    return blocks


def _one(text: str) -> Block:
    try:
        mr, nv, bits = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"a block is written MRxNVxBITS, e.g. 4x3x256; got {text!r}") from None
    if mr < 1 or nv < 1 or bits not in (128, 256, 512):
        raise ValueError(f"a block needs MR >= 1, NV >= 1 and BITS 128, 256 or 512; got {text!r}")
    return mr, nv, bits


# the blocks autotune measured on this machine, or None: set by the package (kernels/
# __init__.py reads them from the autotune record), so that the kernels never import it
measured: Callable[[], dict[str, Block] | None] | None = None
# the most tail columns per dtype that autotune measured the epoch to send through BLAS
# here, and the most bytes of a minibatch's x it measured to count as cached, or None:
# set by the package from the record, as ``measured`` is
measured_tails: Callable[[], dict[str, int] | None] | None = None
measured_cached: Callable[[], dict[str, int] | None] | None = None


def chosen() -> tuple[dict[str, Block], str]:
    """The blocks the numba backends compile with, per dtype, and where they came from:
    ``KERNELS_BLOCK`` where set (one forced to test it), else the ones autotune measured
    here (``measured``), else the CPU table."""
    forced = os.environ.get("KERNELS_BLOCK", "").strip()
    if forced:
        return parse(forced), "KERNELS_BLOCK"
    found = measured() if measured is not None else None
    if found:
        return {d: tuple(b) for d, b in found.items()}, "measured by autotune"
    return block(*target()), "table"


def tail_most(dtype: str, width: int) -> int:
    """The most columns past dh's whole vectors of ``width`` elements that the numba
    epoch computes through BLAS instead of a padded vector (``jit_layout.columns``): what
    autotune measured here for ``dtype`` (``measured_tails``), else ``quarter(width)``."""
    found = _recorded(measured_tails, dtype)
    return quarter(width) if found is None else found


def quarter(width: int) -> int:
    """The default of ``tail_most``: a quarter of a vector. On the Xeon measured, tails of
    a quarter of a vector or less went faster through BLAS and tails of half a vector or
    more slower, with 512- and 256-bit vectors (docs/design.md, section 7.1)."""
    return width // 4


def cached_bytes(dtype: str) -> int:
    """The most bytes of a minibatch's x that the numba epoch counts as still in the cache
    when its backward product reads x again (``jit_epoch``; more: each tile fetches the
    next one's columns of x ahead, and no tail goes through BLAS, which would read x
    twice more): what autotune measured here for ``dtype`` (``measured_cached``), else
    half of one core's L2 (``half_l2``). The half was drawn on the Xeon (2 MiB of L2;
    docs/design.md, section 7.1)."""
    found = _recorded(measured_cached, dtype)
    return half_l2() if found is None else found


def _recorded(measured: Callable[[], dict[str, int] | None] | None, dtype: str) -> int | None:
    """What the hook ``measured`` (set from the autotune record) holds for ``dtype``."""
    return ((measured() if measured is not None else None) or {}).get(dtype)


@functools.cache
def half_l2() -> int:
    """Half of one core's L2 in bytes (1 MiB where Linux does not say)."""
    return (l2_bytes() or 2**21) // 2


def epoch_ways(blocks: dict[str, Block]) -> dict[str, dict]:
    """Per dtype, ``tail_most`` for the vectors of ``blocks`` and ``cached_bytes``, each
    with where it came from (autotune, or the default): for the report."""
    ways = {}
    for dtype, (_, _, bits) in blocks.items():
        tail, cached = _recorded(measured_tails, dtype), _recorded(measured_cached, dtype)
        ways[dtype] = {
            "tail": tail_most(dtype, bits // (64 if dtype == "float64" else 32)),
            "tail_from": "a quarter of a vector" if tail is None else "measured by autotune",
            "cached": cached_bytes(dtype),
            "cached_from": "half the L2" if cached is None else "measured by autotune",
        }
    return ways


def valid_blocks(blocks) -> dict:
    """The autotune record's blocks, ``{dtype: [MR, NV, BITS]}`` for float64 and float32
    (or empty), as they are; ValueError naming what is wrong otherwise."""
    if not isinstance(blocks, dict) or (blocks and set(blocks) != {"float64", "float32"}):
        raise ValueError(f"'blocks' must name a block for float64 and float32; got {blocks!r}")
    for dtype, block in blocks.items():
        if not (isinstance(block, list) and all(type(v) is int for v in block)):
            raise ValueError(f"blocks[{dtype!r}] must be [MR, NV, BITS]; got {block!r}")
        parse("x".join(map(str, block)))
    return blocks


def valid_counts(name: str, table) -> dict:
    """The autotune record's ``name`` table (``tails``: columns, ``cached``: bytes),
    ``{dtype: integer >= 0}`` for float64, float32 or both (or empty), as it is;
    ValueError naming what is wrong otherwise."""
    if not isinstance(table, dict) or not set(table) <= {"float64", "float32"}:
        raise ValueError(f"{name!r} must map float64 or float32 to a count; got {table!r}")
    for dtype, count in table.items():
        if type(count) is not int or count < 0:
            raise ValueError(f"{name}[{dtype!r}] must be an integer >= 0; got {count!r}")
    return table
