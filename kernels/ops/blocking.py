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

import os
import platform

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


def block(arch: str, cpu: str, features: frozenset[str]) -> Block:
    """The register block from the CPU table (what runs without a measured one).

    Zen 4 runs a 512-bit FMA as two 256-bit halves, so 256-bit vectors give it the same
    FLOP rate with less waste in the column tail (dh = 50 is 6.25 vectors of 8 doubles,
    12.5 of 4); Intel CPUs with AVX-512 have two 512-bit FMA units and want 512-bit
    vectors. AVX2 (Zen 2, Zen 3): 4 x 3 x 256 measured best of six blocks on Zen 2.
    aarch64: NEON's 128-bit vectors, 32 registers. Anything else: 128-bit vectors, which
    LLVM lowers to whatever the target has."""
    if arch in ("x86_64", "amd64", "i686", "i386"):
        if "avx512f" in features:
            return (6, 4, 256) if cpu.startswith("znver") else (8, 3, 512)
        if "avx2" in features and "fma" in features:
            return 4, 3, 256
        return 4, 2, 128  # SSE2: every x86-64
    if arch in ("aarch64", "arm64"):
        return 8, 2, 128
    return 4, 2, 128


def candidates(registers: int, fma_chains: int = 8) -> list[Block]:
    """Every block that fits ``registers`` vector registers and keeps at least
    ``fma_chains`` independent accumulators, for vectors of 128, 256 and 512 bits."""
    return [
        (mr, nv, bits)
        for bits in (128, 256, 512)
        for nv in range(1, 7)
        for mr in range(1, 17)
        if mr * nv + nv + 1 <= registers and mr * nv >= fma_chains
    ]


def parse(text: str) -> Block:
    """A block written as ``MRxNVxBITS`` (``KERNELS_BLOCK``): ``"4x3x256"`` -> (4, 3, 256);
    ValueError naming the form otherwise."""
    try:
        mr, nv, bits = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"a block is written MRxNVxBITS, e.g. 4x3x256; got {text!r}") from None
    if mr < 1 or nv < 1 or bits not in (128, 256, 512):
        raise ValueError(f"a block needs MR >= 1, NV >= 1 and BITS 128, 256 or 512; got {text!r}")
    return mr, nv, bits


def chosen() -> tuple[Block, str]:
    """The block the numba backends compile with and where it came from: ``KERNELS_BLOCK``
    where set (a measured block, or one forced to test it), else the CPU table."""
    forced = os.environ.get("KERNELS_BLOCK", "").strip()
    if forced:
        return parse(forced), "KERNELS_BLOCK"
    return block(*target()), "table"
