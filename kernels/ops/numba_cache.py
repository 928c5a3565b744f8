"""numba's on-disk cache, made to see what a compiled function takes from other files.

numba checks a cached function against its own source file only (its modification time
and size). Code inlined from another file (the microkernel's tile in the MLP's epoch,
the exponential in softmax) and constants read at compile time (the register block) are
compiled into the caller, so an edit of that file, or another block, would leave the
caller running the old code until its own file changed. A module that inlines calls
``track(__file__, *modules, key=...)`` before its first ``@numba.njit(cache=True)``: its
functions' cached code is then stale whenever those modules' sources or ``key`` differ,
and numba compiles them again (and overwrites the stale entries).
"""

from __future__ import annotations

import hashlib
import os
from types import ModuleType

from numba.core import caching

# source file -> (digest of the sources it takes from elsewhere, digest of its key)
_stamps: dict[str, tuple[str, str]] = {}
# source file -> the files whose source its compiled code takes, its own tracked ones too
_taken: dict[str, tuple[str, ...]] = {}


def track(source_file: str, *modules: ModuleType, key=()) -> None:
    """Make the cached code of every function compiled from ``source_file`` stale when
    the source of any of ``modules`` changes, or of what they track in turn (a module
    inlining vector_stencil inlines the tile's vectors too), and keep it apart per
    ``key`` (a repr-able value: the register blocks), so that going back to an earlier
    key finds its code. ``modules`` call track before this, as they are imported first."""
    files: dict[str, None] = {}
    for module in modules:
        own = os.path.abspath(module.__file__)
        files |= dict.fromkeys((own, *_taken.get(own, ())))
    sources = hashlib.sha256()
    for name in files:
        with open(name, "rb") as f:
            sources.update(f.read())
    keyed = hashlib.sha256(repr(key).encode()).hexdigest()[:12]
    source_file = os.path.abspath(source_file)
    _taken[source_file] = tuple(files)
    _stamps[source_file] = (sources.hexdigest(), keyed)


class _TrackedLocator(caching._CacheLocator):
    """numba's own locator for a tracked file, with the digest of the sources it takes
    from elsewhere added to its source stamp (numba drops an index whose stamp differs
    and compiles again) and the key's digest to the cache files' names."""

    def __init__(self, inner: caching._CacheLocator, stamp: tuple[str, str]):
        self._inner, (self._sources, self._key) = inner, stamp

    def ensure_cache_path(self):
        self._inner.ensure_cache_path()

    def get_cache_path(self):
        return self._inner.get_cache_path()

    def get_source_stamp(self):
        return self._inner.get_source_stamp(), self._sources

    def get_disambiguator(self):
        return f"{self._inner.get_disambiguator()}-{self._key}"

    @classmethod
    def from_function(cls, py_func, py_file):
        stamp = _stamps.get(os.path.abspath(py_file))
        if stamp is None:
            return None  # not ours: numba's locators as usual
        for other in caching.CacheImpl._locator_classes:
            if other is not cls:
                inner = other.from_function(py_func, py_file)
                if inner is not None:
                    return cls(inner, stamp)
        return None


if _TrackedLocator not in caching.CacheImpl._locator_classes:
    caching.CacheImpl._locator_classes.insert(0, _TrackedLocator)
