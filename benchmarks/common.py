"""Helpers shared by the asv and pytest-benchmark suites."""
import kernels


def backend_or_skip(kernel, backend):
    """The backend's callable; NotImplementedError (asv's n/a) when it cannot run here."""
    try:
        return kernels.get(kernel, backend)
    except kernels.BackendUnavailable as exc:
        raise NotImplementedError(str(exc)) from exc

