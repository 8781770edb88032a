"""``keep_freed_memory``: large allocations freed in bursts stop faulting in fresh pages, the
memory kept stays within the pad asked for, and nothing changes unless it is called.

Each measurement runs in a child process: the setting is the whole process's allocator's and
lasts until it ends, so the test process itself must never make it."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap

import pytest
import zmtrio
from zmtrio import _memory

glibc_only = pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc" or "GLIBC_TUNABLES" in os.environ,
    reason="glibc's own allocator, with its default settings",
)

MIB = 1 << 20


def _child(code: str) -> list[int]:
    """Run ``code`` in a fresh interpreter; the integers it prints."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [int(word) for word in done.stdout.split()]


def _burst_faults(keep: bool) -> int:
    """Page faults of a child that allocates and writes 8 bodies of 1 MiB and frees them
    together (as an application holding 8 large messages at a time does), 19 times after a
    first round, having called ``keep_freed_memory(64 MiB)`` first or not."""
    (faults,) = _child(
        f"""
        import resource
        import zmtrio

        if {keep}:
            assert zmtrio.keep_freed_memory(64 << 20)

        def burst():
            held = [b"\\x01" * (1 << 20) for _ in range(8)]
            held.clear()

        burst()  # the heap's first pages fault in either way
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(19):
            burst()
        print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
        """
    )
    return faults


@glibc_only
def test_bursts_of_large_bodies_reuse_their_pages_once_asked() -> None:
    pages = 19 * 8 * MIB // os.sysconf("SC_PAGE_SIZE")
    by_default = _burst_faults(keep=False)
    kept = _burst_faults(keep=True)
    assert by_default > pages // 2, "glibc returned nothing to the kernel: no fault to save"
    assert kept < pages // 50, f"{kept} page faults for {pages} pages written"


@glibc_only
def test_the_memory_kept_is_at_most_the_pad() -> None:
    """After a 64 MiB burst is freed, a 16 MiB pad keeps about 16 MiB resident, not 64."""
    retained_kb = _child(
        """
        import zmtrio

        def resident_kb():
            with open("/proc/self/status") as status:
                line = next(line for line in status if line.startswith("VmRSS:"))
            return int(line.split()[1])

        assert zmtrio.keep_freed_memory(16 << 20)
        before = resident_kb()
        held = [b"\\x01" * (1 << 20) for _ in range(64)]
        held.clear()
        print(resident_kb() - before)
        """
    )[0]
    assert 12 * 1024 <= retained_kb <= 20 * 1024, f"{retained_kb} KiB kept"


def test_out_of_range_sizes_are_refused() -> None:
    for size in (-1, 2**31):
        with pytest.raises(ValueError, match="max_bytes"):
            zmtrio.keep_freed_memory(size)


def test_elsewhere_than_glibc_nothing_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_memory.platform, "libc_ver", lambda: ("", ""))
    monkeypatch.setattr(_memory.ctypes, "CDLL", None)  # would fail if it were called
    assert zmtrio.keep_freed_memory(64 << 20) is False
