"""pyzmq's convenience calls on a socket: text, JSON, pickles, custom serialisation and
``bind_to_random_port``, each built only on ``send``/``recv``/``bind`` as pyzmq builds them."""

from __future__ import annotations

import errno
import json
import pickle
import random
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ._errors import ZMQError

__all__ = ["SocketConveniences"]

BytesLike = bytes | bytearray | memoryview


class SocketConveniences:
    """pyzmq's ``send_string``/``recv_string``, ``send_json``/``recv_json``,
    ``send_pyobj``/``recv_pyobj``, ``send_serialized``/``recv_serialized`` and
    ``bind_to_random_port``, with pyzmq's signatures (awaited)."""

    __slots__ = ()

    if TYPE_CHECKING:
        # What the socket provides.
        async def send(self, data: BytesLike, flags: int = 0) -> None: ...
        async def send_multipart(self, frames: Iterable[BytesLike], flags: int = 0) -> None: ...
        async def recv(self, flags: int = 0) -> bytes: ...
        async def recv_multipart(self, flags: int = 0) -> list[bytes]: ...
        async def bind(self, endpoint: str) -> str: ...

    async def send_string(
        self, u: str, flags: int = 0, copy: bool = True, encoding: str = "utf-8"
    ) -> None:
        """Send ``u`` encoded with ``encoding`` as one frame."""
        if not isinstance(u, str):
            raise TypeError(f"send_string takes a str, not {type(u).__name__}")
        await self.send(u.encode(encoding), flags)

    async def recv_string(self, flags: int = 0, encoding: str = "utf-8") -> str:
        """Receive one frame and decode it with ``encoding``."""
        frame = await self.recv(flags)
        return frame.decode(encoding)

    async def send_json(self, obj: Any, flags: int = 0, **kwargs: Any) -> None:
        """Send ``obj`` as one frame of UTF-8 JSON; ``kwargs`` go to ``json.dumps``."""
        await self.send(json.dumps(obj, **kwargs).encode("utf-8"), flags)

    async def recv_json(self, flags: int = 0, **kwargs: Any) -> Any:
        """Receive one frame of JSON and decode it; ``kwargs`` go to ``json.loads``."""
        frame = await self.recv(flags)
        return json.loads(frame, **kwargs)

    async def send_pyobj(
        self, obj: Any, flags: int = 0, protocol: int = pickle.DEFAULT_PROTOCOL
    ) -> None:
        """Send ``obj`` pickled, as one frame."""
        await self.send(pickle.dumps(obj, protocol), flags)

    async def recv_pyobj(self, flags: int = 0) -> Any:
        """Receive one frame and unpickle it.

        .. warning:: Unpickling runs code the sender chose: use this only with peers you
           trust completely (as the ``pickle`` module warns), never on an endpoint others
           can reach. ``recv_json`` is the safe choice for data from elsewhere.
        """
        frame = await self.recv(flags)
        return pickle.loads(frame)

    async def send_serialized(
        self, msg: Any, serialize: Callable[[Any], list[bytes]], flags: int = 0
    ) -> None:
        """Send ``serialize(msg)``, a list of frames, as one message."""
        await self.send_multipart(serialize(msg), flags)

    async def recv_serialized(
        self, deserialize: Callable[[list[bytes]], Any], flags: int = 0
    ) -> Any:
        """Receive one message and return ``deserialize(frames)``."""
        frames = await self.recv_multipart(flags)
        return deserialize(frames)

    async def bind_to_random_port(
        self,
        addr: str,
        min_port: int = 49152,
        max_port: int = 65536,
        max_tries: int = 100,
    ) -> int:
        """Bind to a random port of ``addr`` (``"tcp://127.0.0.1"``) and return the port.

        With the default range the system picks a free port (``addr:*``); with a range of
        your own, up to ``max_tries`` ports in ``[min_port, max_port)`` are tried, and
        ``ZMQError(EADDRINUSE)`` is raised when all of them are taken.
        """
        if min_port in (0, 49152) and max_port == 65536:
            resolved = await self.bind(f"{addr}:*")
            return int(resolved.rsplit(":", 1)[1])
        for _ in range(max_tries):
            port = random.randrange(min_port, max_port)
            try:
                await self.bind(f"{addr}:{port}")
            except ZMQError as exc:
                if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
                    raise
            else:
                return port
        raise ZMQError(
            errno.EADDRINUSE, f"no free port in [{min_port}, {max_port}) after {max_tries} tries"
        )
