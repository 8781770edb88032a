"""RADIO/DISH over udp multicast against libzmq-with-drafts, in a network namespace the
test makes for itself (see ``_multicast_scenarios``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.drafts._libzmq import libzmq_drafts

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None,
    reason="a network namespace needs root, unshare and ip (CI has all three)",
)
def test_multicast_in_a_private_network_namespace() -> None:
    libzmq_drafts()  # built (or found) out here, where the build may use the network
    result = subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "tests.drafts._multicast_scenarios"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "multicast scenarios passed" in result.stdout
