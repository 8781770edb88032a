"""Version numbers: zmtrio's own (from the package metadata, so ``pyproject.toml`` is the one
place it is written) and the libzmq release whose behaviour zmtrio matches."""

from __future__ import annotations

from importlib.metadata import version
from typing import Final

__all__ = ["LIBZMQ_VERSION_INFO", "__version__", "zmq_version", "zmq_version_info"]

__version__: Final = version("zmtrio")

#: The libzmq release zmtrio is tested against (through pyzmq) and follows on the wire:
#: ZMTP 3.1, libzmq 4.3.
LIBZMQ_VERSION_INFO: Final = (4, 3, 5)


def zmq_version_info() -> tuple[int, int, int]:
    """The libzmq version zmtrio is compatible with, as ``(major, minor, patch)``."""
    return LIBZMQ_VERSION_INFO


def zmq_version() -> str:
    """The libzmq version zmtrio is compatible with, as pyzmq's ``zmq.zmq_version()``
    gives it (``"4.3.5"``)."""
    return ".".join(map(str, LIBZMQ_VERSION_INFO))
