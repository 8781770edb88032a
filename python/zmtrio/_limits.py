"""What the process could ever hold: the ceiling no frame header may claim past.

libzmq drops a peer whose frame it cannot allocate. The Rust engine is sans-IO and cannot
ask the machine how much memory it has, so this module does, once, and every connection
refuses a frame announcing more than that as soon as its header arrives (whatever
``MAXMSGSIZE`` says), instead of waiting for a body that could never be held.
"""

from __future__ import annotations

import os
from typing import Final

__all__ = ["MEMORY_CEILING"]


def _physical_memory() -> int:
    """The machine's physical memory in bytes, or the 63-bit frame limit when unknown."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return 2**63 - 1


#: The largest frame body any connection accepts, in bytes.
MEMORY_CEILING: Final = _physical_memory()
