"""The async context manager shape Broker and Client share: entering fills an
``AsyncExitStack`` (nursery, sockets, goodbyes), leaving unwinds it."""

from __future__ import annotations

from contextlib import AsyncExitStack
from types import TracebackType
from typing import Self

__all__ = ["StackManaged"]


class StackManaged:
    """Subclasses implement ``_enter`` to push what leaving must undo."""

    _stack: AsyncExitStack | None = None

    async def _enter(self, stack: AsyncExitStack) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        stack = AsyncExitStack()
        await stack.__aenter__()
        try:
            await self._enter(stack)
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        stack, self._stack = self._stack, None
        if stack is None:
            raise RuntimeError(f"{type(self).__name__} left without being entered")
        return bool(await stack.__aexit__(exc_type, exc, traceback))
