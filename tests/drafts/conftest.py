"""Fixtures for the draft socket types: libzmq-with-drafts as the peer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.drafts._libzmq import LibzmqContext


@pytest.fixture
def lctx() -> Iterator[LibzmqContext]:
    context = LibzmqContext()
    yield context
    context.close()
