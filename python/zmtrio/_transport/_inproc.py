"""``inproc://``: sockets of one context joined by a crossed pair of pipes, no engine.

A connect may come before the bind (libzmq 4 allows it): its pipes exist at once, messages
queue in them, and the bind joins them later. Sockets of loops in different threads are
joined over lock-free rings instead (``_inproc_threads``); the registry itself is shared by
every loop of the context, so its changes hold a lock. Sockets are seen only as
``HostSocket`` objects (``_seam``); each side's peer holds an ``unlink`` that ends the other
side's.
"""

from __future__ import annotations

import errno
import threading
from collections.abc import Callable
from functools import partial
from typing import final

from .._errors import ZMQError
from .._options import SocketOption
from .._peer import Peer
from .._pipe import Pipe
from .._seam import HostSocket
from .._threads import Loop
from ._inproc_threads import link_across_loops

__all__ = ["InprocRegistry"]


def _subscription_sender(pipe: Pipe) -> Callable[[bytes, bool], None]:
    """Inproc has no commands: subscriptions travel as ``0x01``/``0x00``-prefixed messages,
    ZMTP 3.0's form, which publishing sockets accept from any peer."""

    def send_subscription(topic: bytes, subscribe: bool) -> None:
        pipe.push([(b"\x01" if subscribe else b"\x00") + topic])

    return send_subscription


def _pipe_hwm(sender: HostSocket, receiver: HostSocket) -> int:
    """libzmq sizes an inproc pipe as the sender's SNDHWM plus the receiver's RCVHWM."""
    send_hwm = sender.options[SocketOption.SNDHWM]
    receive_hwm = receiver.options[SocketOption.RCVHWM]
    return 0 if not send_hwm or not receive_hwm else send_hwm + receive_hwm


@final
class InprocRegistry:
    """The inproc names of one context: bound sockets and connects waiting for a bind."""

    __slots__ = ("_bound", "_lock", "_pending")

    def __init__(self) -> None:
        #: Bound sockets and the loops they belong to, by name.
        self._bound: dict[str, tuple[HostSocket, Loop]] = {}
        self._pending: dict[str, list[tuple[HostSocket, Peer, Loop]]] = {}
        self._lock = threading.Lock()

    def bind(self, socket: HostSocket, name: str) -> str:
        """Register ``name`` for ``socket`` and join the connects that were waiting for it."""
        loop = Loop()
        with self._lock:
            if name in self._bound:
                raise ZMQError(errno.EADDRINUSE, f"inproc://{name} is already bound")
            self._bound[name] = (socket, loop)
            waiting = self._pending.pop(name, [])
        for connector, peer, connector_loop in waiting:
            if connector_loop.token is not loop.token:
                # The connector's loop makes the link: its pipes hold what it queued.
                connector_loop.call_soon(
                    link_across_loops, connector, connector_loop, peer, socket, loop
                )
            elif not connector.closed:
                self._join(connector, peer, socket)
        return "inproc://" + name

    def is_bound(self, name: str) -> bool:
        """Whether a socket is bound at ``inproc://name`` (ZAP asks for its handler)."""
        return name in self._bound

    def unbind(self, socket: HostSocket, name: str) -> None:
        """Forget ``name``; established links stay until a socket closes (as libzmq)."""
        with self._lock:
            bound = self._bound.get(name)
            if bound is None or bound[0] is not socket:
                raise ZMQError(errno.ENOENT, f"inproc://{name} is not bound by this socket")
            del self._bound[name]

    def connect(self, socket: HostSocket, name: str) -> Peer:
        """Make ``socket``'s side of a link to ``name`` (joined now, or at the bind)."""
        peer = socket.new_peer("inproc://" + name)
        loop = Loop()
        with self._lock:
            bound = self._bound.get(name)
            if bound is None:
                self._pending.setdefault(name, []).append((socket, peer, loop))
                return peer
        binder, binder_loop = bound
        if binder_loop.token is not loop.token:
            link_across_loops(socket, loop, peer, binder, binder_loop)
        else:
            self._join(socket, peer, binder)
        return peer

    def forget(self, socket: HostSocket) -> None:
        """Drop every name and pending connect of a closing socket."""
        with self._lock:
            for name in [name for name, (bound, _) in self._bound.items() if bound is socket]:
                del self._bound[name]
            for name, waiting in list(self._pending.items()):
                waiting[:] = [entry for entry in waiting if entry[0] is not socket]
                if not waiting:
                    del self._pending[name]

    def _join(self, connector: HostSocket, connector_peer: Peer, binder: HostSocket) -> None:
        if not binder.accepts_peer_type(connector.type):
            return  # as a ZMTP handshake would fail: the sockets never talk
        to_binder: Pipe = connector_peer.out
        to_connector: Pipe = connector_peer.inp
        to_binder.set_hwm(_pipe_hwm(connector, binder))
        to_connector.set_hwm(_pipe_hwm(binder, connector))
        binder_peer = Peer(to_connector, to_binder, connector_peer.endpoint)
        binder.adopt_peer(binder_peer)
        binder_peer.routing_id = connector.options[SocketOption.ROUTING_ID]
        connector_peer.routing_id = binder.options[SocketOption.ROUTING_ID]
        binder_peer.unlink = partial(connector.connection_lost, connector_peer)
        connector_peer.unlink = partial(binder.connection_lost, binder_peer)
        binder_peer.send_subscription = _subscription_sender(to_connector)
        connector_peer.send_subscription = _subscription_sender(to_binder)
        if not binder.connection_ready(binder_peer, None):
            connector.connection_lost(connector_peer)
            return
        connector.connection_ready(connector_peer, None)
