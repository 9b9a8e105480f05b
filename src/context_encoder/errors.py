"""The exception types every layer raises.

Each is a ``ValueError`` or ``RuntimeError`` too, so callers that catch those keep working.
The command line prints any :class:`ContextEncoderError` as one line and exits 2; the
server answers it with a JSON error.
"""

from __future__ import annotations

__all__ = [
    "CheckpointError",
    "ConfigError",
    "ContextEncoderError",
    "ImageError",
    "ImageTooLargeError",
    "TrainingError",
    "UsageError",
]


class ContextEncoderError(Exception):
    """Base class: an error whose message is meant for the user, as is."""


class UsageError(ContextEncoderError, ValueError):
    """Options that do not go together, or a value out of range (the CLI's one-line errors)."""


class ConfigError(ContextEncoderError, ValueError):
    """A configuration file or value that is malformed: names the file, key and the expected type."""


class ImageError(ContextEncoderError, ValueError):
    """An image or mask file that cannot be read or written: names the file and what is wrong."""


class ImageTooLargeError(ImageError):
    """An image over the pixel limit (checked from its header, before decoding)."""


class CheckpointError(ContextEncoderError, ValueError):
    """A checkpoint or model file that is missing, corrupt or of the wrong kind."""


class TrainingError(ContextEncoderError, RuntimeError):
    """Training cannot start or go on (bad options, NaN loss, ...)."""
