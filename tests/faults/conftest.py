"""Fault tests: each context must give back every descriptor it took."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import zmtrio

from tests.faults._process import open_fds


@pytest.fixture
async def ctx() -> AsyncIterator[zmtrio.Context]:
    """A context, checked to leak no descriptor once closed (after any fault)."""
    before = open_fds()
    async with zmtrio.Context() as context:
        yield context
    assert open_fds() == before, "descriptors leaked"
