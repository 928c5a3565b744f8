"""The error of a backend that cannot run here, raised by the registry (a module it
needs is missing) and by a backend's own module (no GPU): a leaf, so the kernels
never import the registry."""


class BackendUnavailable(ImportError):
    """A registered backend that cannot run here (e.g. numba failed to import)."""
