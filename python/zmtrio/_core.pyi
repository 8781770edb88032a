"""Type stubs for the Rust extension ``zmtrio._core`` (built from ``rust/src/python.rs``).

The engine is sans-IO: it never touches sockets, tasks or clocks. The trio layer feeds it the
bytes that arrived, takes the bytes to write, moves messages through :class:`Pipe` objects,
passes the trio clock's time in (``now``, seconds) and sleeps until the deadline the
connection names (``next_deadline``) before calling ``on_timeout``.
A message is always a ``list[bytes]`` (one entry per frame); the trio layer converts other
bytes-like objects before they reach a pipe.
"""

from collections.abc import Callable
from typing import Any, Final, final

__all__ = [
    "EV_CANCEL",
    "EV_ERROR",
    "EV_JOIN",
    "EV_LEAVE",
    "EV_PING",
    "EV_READY",
    "EV_SUBSCRIBE",
    "EV_ZAP_REQUEST",
    "EXPIRED_HANDSHAKE",
    "EXPIRED_HEARTBEAT",
    "EXPIRED_PEER_TTL",
    "READ_SIZE",
    "Connection",
    "EncodedBatch",
    "FanOut",
    "Inlet",
    "Outlet",
    "Pipe",
    "ProtocolError",
    "RingConsumer",
    "RingProducer",
    "copy_messages",
    "curve_keypair",
    "curve_public",
    "encode_batch",
    "encode_message",
    "ring",
    "thread_token",
    "z85_decode",
    "z85_encode",
]

EV_READY: Final[int]
"""``(EV_READY,)``: the handshake finished; peer metadata is now readable."""
EV_PING: Final[int]
"""``(EV_PING, ttl_deciseconds)``: the peer pinged us (the PONG is already queued)."""
EV_SUBSCRIBE: Final[int]
"""``(EV_SUBSCRIBE, topic)``: a SUBSCRIBE command arrived (ZMTP 3.1 peers)."""
EV_CANCEL: Final[int]
"""``(EV_CANCEL, topic)``: a CANCEL command arrived (ZMTP 3.1 peers)."""
EV_JOIN: Final[int]
"""``(EV_JOIN, group)``: a DISH joined a group (RADIO connections only)."""
EV_LEAVE: Final[int]
"""``(EV_LEAVE, group)``: a DISH left a group (RADIO connections only)."""
EV_ERROR: Final[int]
"""``(EV_ERROR, reason)``: the peer sent ERROR during the handshake; the connection is closed
and must not retry. (After the handshake ERROR is ignored, as libzmq ignores it.)"""
EV_ZAP_REQUEST: Final[int]
"""``(EV_ZAP_REQUEST, mechanism, credentials)``: the handshake waits for the ZAP handler's
verdict on the peer (``mechanism`` is ``"NULL"``, ``"PLAIN"`` or ``"CURVE"``; credentials
are PLAIN's user name and password or CURVE's client key). Answer with ``zap_accepted()``,
or refuse with ``send_error(b"400")`` (or ``b"500"``), or drop the connection (300)."""
READ_SIZE: Final[int]
"""Bytes to ask of the kernel for a connection's first read (``feed`` names the next)."""
EXPIRED_HANDSHAKE: Final[int]
"""``on_timeout``: the handshake did not finish within ``handshake_ivl``."""
EXPIRED_HEARTBEAT: Final[int]
"""``on_timeout``: nothing arrived within ``heartbeat_timeout`` of a PING."""
EXPIRED_PEER_TTL: Final[int]
"""``on_timeout``: nothing arrived within the TTL the peer's PINGs announced."""

class ProtocolError(Exception):
    """The peer broke the protocol; the connection is dead.

    ``args == (message: str, code: int)`` where ``code`` is libzmq's
    ``ZMQ_PROTOCOL_ERROR_*`` value, as reported by the monitor.
    """

@final
class Pipe:
    """A bounded FIFO of messages between a socket and one peer (or two inproc sockets).

    ``hwm`` is the high-water mark in messages; 0 means unbounded. A ``conflate`` pipe
    keeps only the newest message (``ZMQ_CONFLATE``): each push replaces the one queued,
    and it is never full.
    """

    hwm: int
    @property
    def conflate(self) -> bool:
        """Whether the pipe keeps only the newest message."""
    def __init__(self, hwm: int, conflate: bool = False) -> None: ...
    def __len__(self) -> int: ...
    def try_push(self, msg: list[bytes] | bytes, /) -> int:
        """Queue ``msg`` unless full; return -1 if full, else the new length (1: was empty)."""
    def push(self, msg: list[bytes]) -> int:
        """Queue ``msg`` ignoring the high-water mark; return the new length."""
    def push_many(self, msgs: list[list[bytes]] | list[bytes], limit: int) -> int:
        """Queue messages from the front of ``msgs`` while below the high-water mark and fewer
        than ``limit`` were taken; return how many were queued."""
    def push_encoded(self, batch: EncodedBatch, start: int) -> int:
        """Queue the messages of ``batch`` from ``start`` on that fit below the high-water
        mark as one item, a run that counts as that many messages (for a pipe to a
        connection that writes frames in clear: ``take_output`` writes it as it is); return
        how many were queued. A ``conflate`` pipe keeps the last one."""
    def pop(self) -> list[bytes] | None:
        """Take the oldest message, or ``None`` when empty."""
    def pop_many(self, max_messages: int) -> list[list[bytes]]:
        """Take up to ``max_messages`` of the oldest messages (possibly none)."""
    def full(self) -> bool:
        """Whether ``try_push`` would refuse now."""
    def clear(self) -> int:
        """Drop everything queued; return how many messages were dropped."""

@final
class Outlet:
    """The sending end of one peer's outbound pipe (``peer.out``, a ``_pipe.Pipe``) for a
    pattern that sends to that peer alone: ``send`` does what ``LoadBalance.send`` does for
    one peer, in one call. With ``runs`` (the pipe goes to a connection that writes frames
    in clear), a message of small ``bytes`` frames is framed at once onto a run at the back
    of the pipe, which the connection's writer takes whole."""

    def __new__(cls, pipe: Any, runs: bool = False) -> Outlet: ...
    def send(self, msg: list[bytes], /) -> bool:
        """Queue ``msg`` unless the pipe is full: True if queued (the pipe's ``on_readable``
        called if it was empty), else False (its ``writer_blocked`` set)."""
    def send_frame(self, frame: bytes, /) -> bool:
        """As ``send([frame])``, without a list made for a frame that goes onto a run."""

@final
class Inlet:
    """The receiving end of one peer's inbound pipe (``peer.inp``, a ``_pipe.Pipe``) for a
    fair-queue that has that peer alone: ``recv`` does what ``FairQueue.recv`` does then,
    in one call."""

    def __new__(cls, pipe: Any) -> Inlet: ...
    def recv(self) -> list[bytes] | None:
        """Take the peer's oldest message, or ``None``; at the low-water mark a producer
        marked ``writer_blocked`` is unmarked and its ``on_writable`` called."""

@final
class FanOut:
    """A publisher's peers, what each subscribes to, and the sending of a message to every
    matching peer in one call (``rust/src/fanout.rs``, libzmq's ``dist_t`` with ``mtrie_t``).

    Peers are ``_peer.Peer`` objects (typed ``Any`` here: the stub sits below them), known by
    identity. A topic matches a message when it is a byte prefix of its first frame (the
    empty topic matches all); per peer a topic is in or out, not counted. A send queues the
    message on each matching peer's ``out`` pipe that has room, framed once
    (:func:`encode_message`) for the peers with ``shares_encoding`` when several match, and
    calls ``on_readable`` of the pipes that were empty. A peer whose pipe was full loses the
    message, its pipe's ``writer_blocked`` is set, and it keeps losing them until the pipe's
    consumer clears that flag (at the low-water mark).
    """

    lossy: bool
    """False (XPUB_NODROP): a send some matching peer has no room for queues nothing and
    returns False (that peer's ``writer_blocked`` is set, so draining it wakes the sender)."""
    def __init__(self) -> None: ...
    def __len__(self) -> int:
        """How many distinct topics have at least one subscriber."""
    def add_peer(self, peer: Any, held: bool) -> None:
        """Add ``peer`` (subscribed to nothing), or refresh a known one (a reconnect: its
        ``shares_encoding`` may change). ``held``: ``peer.out`` is the peer's pipe for good,
        so it is read once now; otherwise it is looked up at every send."""
    def remove_peer(self, peer: Any, only_last: bool) -> list[bytes]:
        """Forget ``peer`` and its subscriptions; return its topics byte-wise ascending: all,
        or with ``only_last`` those nobody else subscribes to any more."""
    def subscribe(self, peer: Any, topic: bytes) -> bool:
        """Subscribe a known ``peer`` to ``topic`` (KeyError if unknown); True if nobody
        subscribed to it before."""
    def unsubscribe(self, peer: Any, topic: bytes) -> int:
        """Cancel ``peer``'s subscription to ``topic``: 0 if it had none (or is unknown), 1
        if it was the topic's last subscriber, 2 if others remain (``Removed``'s values)."""
    def send(self, msg: list[bytes]) -> bool:
        """Queue ``msg`` for every matching peer; False only without ``lossy``, when a
        matching peer is full (then nothing was queued)."""
    def send_many(self, msgs: list[list[bytes]]) -> int:
        """``send`` each message in turn, stopping at the first refused; return how many
        were sent (all of them when ``lossy``). Pipes that were empty are woken once, at
        the end."""

@final
class RingProducer:
    """The pushing end of a lock-free ring between two threads (``rust/src/ring.rs``), used
    only from the producer's thread. It has the producer's half of :class:`Pipe`'s methods;
    ``wake_consumer`` (given to :func:`ring`) is called after a push the waiting consumer
    must hear of: once per burst, never per message."""

    @property
    def hwm(self) -> int:
        """The limit ``try_push`` keeps to (0: none)."""
    @property
    def wakes(self) -> int:
        """How many times this end called ``wake_consumer``."""
    @property
    def consumer_closed(self) -> bool:
        """Whether the consumer closed its end (pushes then stay here, unread)."""
    def __len__(self) -> int: ...
    def full(self) -> bool:
        """Whether ``try_push`` would refuse now (then the producer waits for a wake)."""
    def try_push(self, msg: list[bytes], /) -> int:
        """Queue ``msg`` unless at the limit; -1 if so, else the new length."""
    def push(self, msg: list[bytes]) -> int:
        """Queue ``msg`` past the limit; return the new length."""
    def push_many(self, msgs: list[list[bytes]], limit: int) -> int:
        """Queue messages from the front of ``msgs`` while below the limit and fewer than
        ``limit`` were taken, publishing them at once; return how many were queued."""
    def flush(self) -> int:
        """Move messages that waited for room into the ring; return how many still wait.
        Call when woken for room."""
    def close(self) -> None:
        """Close this end: the consumer takes what was pushed, then sees the end. Drops the
        wake callable."""

@final
class RingConsumer:
    """The popping end of a lock-free ring between two threads, used only from the
    consumer's thread: the consumer's half of :class:`Pipe`'s methods. ``wake_producer`` is
    called after a pop that drained the ring to its low-water mark while the producer waited
    for room."""

    @property
    def wakes(self) -> int:
        """How many times this end called ``wake_producer``."""
    @property
    def finished(self) -> bool:
        """Whether the producer closed its end and everything it pushed was taken."""
    def __len__(self) -> int: ...
    def pop(self) -> list[bytes] | None:
        """Take the oldest message, or ``None`` when empty (the next push then wakes us)."""
    def pop_many(self, max_messages: int) -> list[list[bytes]]:
        """Take up to ``max_messages`` of the oldest messages (possibly none)."""
    def clear(self) -> int:
        """Drop everything queued; return how many messages were dropped."""
    def close(self) -> None:
        """Close this end, dropping what is queued and the wake callable."""

def ring(
    capacity: int,
    limit: int,
    wake_consumer: Callable[[], object],
    wake_producer: Callable[[], object],
    conflate: bool = False,
) -> tuple[RingProducer, RingConsumer]:
    """A ring taking ``limit`` messages through ``try_push`` (0: no limit; then ``capacity``
    slots and a spill beyond them), waking the producer at ``(limit + 1) // 2``. A
    ``conflate`` ring's pops take everything queued and return only the newest
    (``ZMQ_CONFLATE``; give it no limit, as a conflating pipe is never full)."""

def thread_token() -> object:
    """The calling thread's marker: the same object on every call in one thread, a
    different one in every other thread (never reused), so ``is`` tells threads apart."""

@final
class Connection:
    """One ZMTP 3.x connection's protocol state: greeting, handshake (NULL, PLAIN or CURVE),
    framing, commands, and CURVE's encryption of every frame.

    Call order: construct; ``take_output`` and write what it returns (the greeting); then
    each time bytes arrive, ``feed`` them and write whatever ``take_output`` returns; and
    sleep until ``next_deadline()`` (asked again after every call), then ``on_timeout``.
    """

    def __init__(
        self,
        socket_type: int,
        routing_id: bytes = b"",
        max_msg_size: int = -1,
        memory_ceiling: int | None = None,
        *,
        handshake_ivl: int = 0,
        heartbeat_ivl: int = 0,
        heartbeat_timeout: int = -1,
        heartbeat_ttl: int = 0,
        now: float = 0.0,
        mechanism: int = 0,
        as_server: bool = False,
        zap: bool = False,
        username: bytes = b"",
        password: bytes = b"",
        secret_key: bytes = b"",
        server_key: bytes = b"",
    ) -> None:
        """``socket_type`` is our own libzmq type number (0..10); ``routing_id`` goes in the
        READY ``Identity`` property for REQ, DEALER and ROUTER; frames larger than
        ``max_msg_size`` bytes (when >= 0), or than ``memory_ceiling`` bytes (what the
        process could ever hold), are a protocol error as soon as their header arrives. The
        timer options are libzmq's, in milliseconds (0: off; ``heartbeat_timeout`` -1: the
        interval); the connection starts at ``now`` (seconds on the caller's clock).

        ``mechanism`` is 0 (NULL), 1 (PLAIN) or 2 (CURVE), ``as_server`` its role. PLAIN
        clients send ``username`` and ``password``; CURVE takes 32-byte raw keys: our
        ``secret_key`` and, for a client, the ``server_key``. ``zap``: the handshake raises
        ``EV_ZAP_REQUEST`` (NULL with a ZAP domain, CURVE servers; a PLAIN server always
        does). ValueError for a bad key length or a credential above 255 bytes."""
    def feed(self, data: bytes, inbound: Pipe, events: list[tuple[Any, ...]], now: float) -> int:
        """Consume bytes from the peer. Every complete message is pushed onto ``inbound``
        (ignoring its high-water mark); events are appended to ``events`` as ``(EV_READY,)``
        or ``(EV_*, value)`` tuples in arrival order. Returns how many bytes to ask of the
        kernel for the next read (``READ_SIZE``, or more to finish a big frame at once,
        or less right after a large body), or 0: a large frame's body is open, receive
        the next bytes into ``body_view()`` and report them with ``body_written``.

        Raises :class:`ProtocolError` when the peer breaks the protocol; messages decoded
        before the fault stay in ``inbound``. After an error or EV_ERROR, ``feed`` raises.
        ``now`` is when the bytes arrived (it feeds the heartbeat clock)."""
    def body_view(self) -> memoryview:
        """While a large frame's body is open (``feed`` or ``body_written`` returned 0): a
        writable view of its bytes still to come, inside the ``bytes`` the frame will be,
        for one ``recv_into`` made at once (ask again for the next). ``BufferError`` when
        no body is open."""
    @property
    def spill(self) -> bytearray:
        """Where the bytes that follow the open body may be received in the same read, a
        buffer after ``body_view()`` (``recvmsg_into``): the next frame's header, mostly.
        The same 4 KiB object each time, or an empty one when the open body is read alone
        (from 128 KiB) or none is open; ``body_written`` decodes what landed there."""
    def body_written(
        self, written: int, inbound: Pipe, events: list[tuple[Any, ...]], now: float
    ) -> int:
        """``written`` bytes were received into ``body_view()`` at ``now`` and, past the
        bytes it wanted, into ``spill`` (decoded as ``feed`` decodes); as ``feed``
        otherwise (the completed message pushed onto ``inbound``, the next read size
        returned). ``ZMQError(EFSM)`` if no open body and spill take that many."""
    def discard_unfinished(self) -> None:
        """The connection is over: drop the frames of a message it can no longer complete
        (a large body being received included) now, not when the connection is collected."""
    def take_output(
        self, outbound: Pipe | None, max_bytes: int
    ) -> bytes | list[bytes | memoryview] | None:
        """Bytes to write now: pending protocol output (greeting, handshake, PONG, ...), then,
        once ready, whole messages popped from ``outbound`` until about ``max_bytes`` (at
        least one message), a ``bytes`` message being one from :func:`encode_message`.
        ``None`` when there is nothing to write. An empty message raises
        ``ZMQError(EINVAL)``, anything but a ``list[bytes]`` or ``bytes`` ``TypeError``.

        Where frames go in clear, a batch holding a frame body (or an encoded message) of
        32 KiB or more comes as a list of buffers to write one after the other
        (``sendmsg``): each such body is the message's own ``bytes``, not copied, between
        ``bytes`` holding the rest (frame headers, smaller frames)."""
    def next_deadline(self) -> float | None:
        """When ``on_timeout`` must next be called (``None``: no timer runs)."""
    def on_timeout(self, now: float) -> int | None:
        """Time passed: queue a PING if one is due (write ``take_output`` then), or return
        the ``EXPIRED_*`` timer that ran out (the connection is then closed)."""
    def send_subscription(self, topic: bytes, subscribe: bool) -> None:
        """Queue a (un)subscription: a SUBSCRIBE/CANCEL command to ZMTP 3.1 peers, a
        ``0x01``/``0x00``-prefixed message to ZMTP 3.0 peers (only valid once ready)."""
    def zap_accepted(self, now: float) -> None:
        """The ZAP handler accepted the peer (after ``EV_ZAP_REQUEST``): the handshake goes
        on (finishing at ``now``, for the heartbeat clock, if the peer is ready too); check
        ``ready`` afterwards and write ``take_output``."""
    def send_error(self, reason: bytes) -> None:
        """Queue an ERROR command (at most 255 bytes of reason); the connection is then closed."""
    @property
    def ready(self) -> bool:
        """Whether the handshake has finished."""
    @property
    def frames_in_clear(self) -> bool:
        """Whether data frames go out in clear (NULL, PLAIN, not CURVE): a message from
        :func:`encode_message` is then copied to the wire as it is."""
    @property
    def closed(self) -> bool:
        """Whether the connection failed or was closed by ERROR."""
    @property
    def peer_minor(self) -> int:
        """The peer's ZMTP minor version (0 or 1), once its greeting arrived; else -1."""
    @property
    def peer_socket_type(self) -> int:
        """The peer's socket type number from READY (-1 before the handshake)."""
    @property
    def peer_routing_id(self) -> bytes:
        """The peer's ``Identity`` property (empty if absent)."""
    @property
    def peer_properties(self) -> dict[str, bytes]:
        """Every metadata property the peer's READY carried, by name as sent."""

def curve_keypair() -> tuple[bytes, bytes]:
    """A new CURVE key pair ``(public, secret)``, 32 raw bytes each, from libsodium."""

def curve_public(secret: bytes) -> bytes:
    """The 32-byte CURVE public key of a 32-byte secret key (ValueError otherwise)."""

@final
class EncodedBatch:
    """Small messages framed back to back in one ``bytes``, from :func:`encode_batch`."""

    def __len__(self) -> int:
        """How many messages it holds."""
    def messages(self, start: int) -> list[list[bytes]]:
        """The messages from ``start`` on, as lists of ``bytes`` again."""

def encode_batch(messages: list[Any]) -> EncodedBatch | None:
    """``messages`` framed once, back to back, if each is a non-empty list or tuple of
    ``bytes`` (exactly) of at most 8 KiB each; else ``None`` (convert them one by one)."""

def copy_messages(messages: list[Any]) -> list[list[bytes]] | None:
    """A new list of each message's frames (the ``bytes`` shared), if each is a non-empty
    list or tuple of ``bytes`` (exactly); else ``None`` (convert them one by one)."""

def encode_message(message: list[bytes]) -> bytes:
    """Frame a non-empty ``message`` once, as ZMTP frames, for a publisher to queue the same
    ``bytes`` for every subscriber (``take_output`` copies it as it is where frames go in
    clear and re-frames it where each frame is encrypted)."""

def z85_encode(data: bytes) -> bytes:
    """Z85-encode ``data`` (its length must be a multiple of 4), raising ValueError otherwise."""

def z85_decode(text: bytes) -> bytes:
    """Decode Z85 ``text`` (length a multiple of 5), raising ValueError when it is invalid."""
