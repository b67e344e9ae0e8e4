"""Errors that zoobench raises on purpose; the CLI prints them as one line, without a traceback."""


class ZoobenchError(Exception):
    """Base class for every error a user can cause and fix."""


class WeightsError(ZoobenchError):
    """A weights file is missing, has the wrong checksum, or does not fit the architecture."""


class ModelNotFoundError(ZoobenchError):
    """No model spec, timm model or ONNX file answers to the given name."""


class DataError(ZoobenchError):
    """An image folder, label file, cache or prediction directory is unusable."""


class RuntimeUnavailableError(ZoobenchError):
    """A runtime (or its device) is not installed; the message says how to install it."""


class ExportError(ZoobenchError):
    """Export or the exported model's parity check failed."""


class ClusterError(ZoobenchError):
    """Ray is not installed, the cluster cannot be reached, or it cannot run what was asked."""


class UsageError(ZoobenchError):
    """An option value that is wrong whatever is on disk (an unknown preprocessing variant, runtime, ...): the
    CLI exits 2, as for click's own usage errors, and nothing has been created."""
