"""``keep_freed_memory``: an opt-in that lets glibc keep freed heap memory for reuse.

Every frame zmtrio receives is a ``bytes`` of its own, made by the C library's ``malloc``. A
glibc process hands the top of its heap back to the kernel as soon as more than its trim
threshold lies free there (about two bodies, once a 1 MiB one was freed), and the pages of
the bodies made after that are faulted in afresh, each of them zeroed by the kernel first.
zmtrio's reader lets a receiver that drops each message take it before it makes the next
one, so such a loop reuses one body's memory; an application that holds several large
messages at once (a list of them, a ``recv_batch``) and frees them together still pays a
page fault per 4 KiB of every new body (measured at 1 MiB, holding 2 to 8 messages: 240-250
faults and 0.5-0.8 ms of system time per message; 0-2 faults with this opt-in).

The setting is the whole process's allocator's, so zmtrio never makes it by itself: the
application calls :func:`keep_freed_memory` once, at start-up, with the memory it accepts to
keep.
"""

from __future__ import annotations

import ctypes
import platform
from typing import Final

__all__ = ["keep_freed_memory"]

#: ``mallopt``'s parameters (glibc's malloc.h): the padding kept at the top of the heap, and
#: the size from which an allocation gets pages of its own (``mmap``), returned on free.
_M_TOP_PAD: Final = -2
_M_MMAP_THRESHOLD: Final = -3

#: The largest mmap threshold glibc sets by itself (``DEFAULT_MMAP_THRESHOLD_MAX``: 32 MiB on
#: 64-bit machines), which every glibc accepts.
_MAX_MMAP_THRESHOLD: Final = 4 * 1024 * 1024 * ctypes.sizeof(ctypes.c_long)

#: glibc's default mmap threshold, which this never lowers.
_MIN_MMAP_THRESHOLD: Final = 128 * 1024

#: ``mallopt`` takes an ``int``.
_MAX_PAD: Final = 2**31 - 1


def keep_freed_memory(max_bytes: int) -> bool:
    """Let glibc keep up to ``max_bytes`` of freed memory at the top of its heap, for reuse,
    instead of returning it to the kernel: large messages received after others were freed
    then reuse their pages instead of faulting in fresh ones. Size it to the large messages
    the application holds at once (``64 << 20``: 64 messages of 1 MiB, say).

    Two glibc settings (``mallopt``): the pad kept at the top of the heap (``M_TOP_PAD``)
    becomes ``max_bytes``, and allocations below ``max_bytes`` (at most 32 MiB) come from
    the heap (``M_MMAP_THRESHOLD``; larger ones still get pages of their own, returned to
    the kernel when freed, never below glibc's default of 128 KiB).

    The cost is memory: after a burst of large messages is freed, the process stays up to
    ``max_bytes`` larger (that memory serves any later allocation), and the heap grows in
    steps of ``max_bytes`` of address space (only what is written becomes resident). The
    setting is process-wide and lasts until the process ends: glibc stops adapting its
    thresholds to the program once they are set.

    Returns False, changing nothing, where the C library is not glibc (musl, macOS,
    Windows). Raises ``ValueError`` unless ``0 <= max_bytes < 2**31``.
    """
    if not 0 <= max_bytes <= _MAX_PAD:
        raise ValueError(f"max_bytes must be in 0..{_MAX_PAD}, not {max_bytes}")
    if platform.libc_ver()[0] != "glibc":
        return False
    mallopt = ctypes.CDLL(None).mallopt
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    threshold = max(_MIN_MMAP_THRESHOLD, min(max_bytes, _MAX_MMAP_THRESHOLD))
    return bool(mallopt(_M_MMAP_THRESHOLD, threshold) == 1 and mallopt(_M_TOP_PAD, max_bytes) == 1)
