"""Socket options as typed properties, generated from the option table in ``_options.py``.

Do not edit: ``scripts/generate_option_properties.py`` writes this file and
``tests/test_option_attributes.py`` fails when it is out of date.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, TypeAlias, cast

from ._options import SocketOption

__all__ = ["BytesOption", "IntOption", "OptionProperties", "StrOption"]

_O = SocketOption

IntOption: TypeAlias = Literal[
    SocketOption.SNDBUF,
    SocketOption.RCVBUF,
    SocketOption.RCVMORE,
    SocketOption.EVENTS,
    SocketOption.TYPE,
    SocketOption.LINGER,
    SocketOption.RECONNECT_IVL,
    SocketOption.BACKLOG,
    SocketOption.RECONNECT_IVL_MAX,
    SocketOption.MAXMSGSIZE,
    SocketOption.SNDHWM,
    SocketOption.RCVHWM,
    SocketOption.MULTICAST_HOPS,
    SocketOption.RCVTIMEO,
    SocketOption.SNDTIMEO,
    SocketOption.ROUTER_MANDATORY,
    SocketOption.TCP_KEEPALIVE,
    SocketOption.TCP_KEEPALIVE_CNT,
    SocketOption.TCP_KEEPALIVE_IDLE,
    SocketOption.TCP_KEEPALIVE_INTVL,
    SocketOption.IMMEDIATE,
    SocketOption.XPUB_VERBOSE,
    SocketOption.IPV6,
    SocketOption.MECHANISM,
    SocketOption.PLAIN_SERVER,
    SocketOption.CURVE_SERVER,
    SocketOption.PROBE_ROUTER,
    SocketOption.REQ_CORRELATE,
    SocketOption.REQ_RELAXED,
    SocketOption.CONFLATE,
    SocketOption.ROUTER_HANDOVER,
    SocketOption.HANDSHAKE_IVL,
    SocketOption.XPUB_NODROP,
    SocketOption.XPUB_MANUAL,
    SocketOption.HEARTBEAT_IVL,
    SocketOption.HEARTBEAT_TTL,
    SocketOption.HEARTBEAT_TIMEOUT,
    SocketOption.XPUB_VERBOSER,
    SocketOption.CONNECT_TIMEOUT,
    SocketOption.ZAP_ENFORCE_DOMAIN,
    SocketOption.MULTICAST_LOOP,
    SocketOption.STREAM_NOTIFY,
    SocketOption.XSUB_VERBOSE_UNSUBSCRIBE,
    SocketOption.BUSY_POLL,
]

BytesOption: TypeAlias = Literal[
    SocketOption.ROUTING_ID,
    SocketOption.SUBSCRIBE,
    SocketOption.UNSUBSCRIBE,
    SocketOption.PLAIN_USERNAME,
    SocketOption.PLAIN_PASSWORD,
    SocketOption.CURVE_PUBLICKEY,
    SocketOption.CURVE_SECRETKEY,
    SocketOption.CURVE_SERVERKEY,
    SocketOption.ZAP_DOMAIN,
    SocketOption.CONNECT_ROUTING_ID,
    SocketOption.XPUB_WELCOME_MSG,
]

StrOption: TypeAlias = Literal[SocketOption.LAST_ENDPOINT]


class OptionProperties:
    """Every libzmq option as a typed property, lowercase and uppercase (``sndhwm``,
    ``SNDHWM``). The class using it provides ``_get_option`` and ``_set_option``."""

    __slots__ = ()

    if TYPE_CHECKING:

        def _get_option(self, option: int) -> int | bytes | str: ...
        def _set_option(self, option: int, value: int | bytes) -> None: ...

    @property
    def routing_id(self) -> bytes:
        """``ROUTING_ID`` (bytes, default b'')."""
        return cast(bytes, self._get_option(_O.ROUTING_ID))

    @routing_id.setter
    def routing_id(self, value: bytes) -> None:
        self._set_option(_O.ROUTING_ID, value)

    ROUTING_ID = routing_id

    @property
    def SUBSCRIBE(self) -> bytes:
        """``SUBSCRIBE`` (bytes, default b''); write-only: reading it raises ``ZMQError(EINVAL)``,
        as in libzmq; for PUB, SUB, XPUB sockets."""
        return cast(bytes, self._get_option(_O.SUBSCRIBE))

    @SUBSCRIBE.setter
    def SUBSCRIBE(self, value: bytes) -> None:
        self._set_option(_O.SUBSCRIBE, value)

    @property
    def UNSUBSCRIBE(self) -> bytes:
        """``UNSUBSCRIBE`` (bytes, default b''); write-only: reading it raises ``ZMQError(EINVAL)``,
        as in libzmq; for PUB, SUB, XPUB sockets."""
        return cast(bytes, self._get_option(_O.UNSUBSCRIBE))

    @UNSUBSCRIBE.setter
    def UNSUBSCRIBE(self, value: bytes) -> None:
        self._set_option(_O.UNSUBSCRIBE, value)

    @property
    def sndbuf(self) -> int:
        """``SNDBUF`` (int, default -1)."""
        return cast(int, self._get_option(_O.SNDBUF))

    @sndbuf.setter
    def sndbuf(self, value: int) -> None:
        self._set_option(_O.SNDBUF, value)

    SNDBUF = sndbuf

    @property
    def rcvbuf(self) -> int:
        """``RCVBUF`` (int, default -1)."""
        return cast(int, self._get_option(_O.RCVBUF))

    @rcvbuf.setter
    def rcvbuf(self, value: int) -> None:
        self._set_option(_O.RCVBUF, value)

    RCVBUF = rcvbuf

    @property
    def rcvmore(self) -> int:
        """``RCVMORE`` (int, default 0); read-only."""
        return cast(int, self._get_option(_O.RCVMORE))

    RCVMORE = rcvmore

    @property
    def events(self) -> int:
        """``EVENTS`` (int, default 0); read-only."""
        return cast(int, self._get_option(_O.EVENTS))

    EVENTS = events

    @property
    def type(self) -> int:
        """``TYPE`` (int, default 0); read-only."""
        return cast(int, self._get_option(_O.TYPE))

    TYPE = type

    @property
    def linger(self) -> int:
        """``LINGER`` (int, default -1)."""
        return cast(int, self._get_option(_O.LINGER))

    @linger.setter
    def linger(self, value: int) -> None:
        self._set_option(_O.LINGER, value)

    LINGER = linger

    @property
    def reconnect_ivl(self) -> int:
        """``RECONNECT_IVL`` (int, default 100)."""
        return cast(int, self._get_option(_O.RECONNECT_IVL))

    @reconnect_ivl.setter
    def reconnect_ivl(self, value: int) -> None:
        self._set_option(_O.RECONNECT_IVL, value)

    RECONNECT_IVL = reconnect_ivl

    @property
    def backlog(self) -> int:
        """``BACKLOG`` (int, default 100)."""
        return cast(int, self._get_option(_O.BACKLOG))

    @backlog.setter
    def backlog(self, value: int) -> None:
        self._set_option(_O.BACKLOG, value)

    BACKLOG = backlog

    @property
    def reconnect_ivl_max(self) -> int:
        """``RECONNECT_IVL_MAX`` (int, default 0)."""
        return cast(int, self._get_option(_O.RECONNECT_IVL_MAX))

    @reconnect_ivl_max.setter
    def reconnect_ivl_max(self, value: int) -> None:
        self._set_option(_O.RECONNECT_IVL_MAX, value)

    RECONNECT_IVL_MAX = reconnect_ivl_max

    @property
    def maxmsgsize(self) -> int:
        """``MAXMSGSIZE`` (int, default -1)."""
        return cast(int, self._get_option(_O.MAXMSGSIZE))

    @maxmsgsize.setter
    def maxmsgsize(self, value: int) -> None:
        self._set_option(_O.MAXMSGSIZE, value)

    MAXMSGSIZE = maxmsgsize

    @property
    def sndhwm(self) -> int:
        """``SNDHWM`` (int, default 1000)."""
        return cast(int, self._get_option(_O.SNDHWM))

    @sndhwm.setter
    def sndhwm(self, value: int) -> None:
        self._set_option(_O.SNDHWM, value)

    SNDHWM = sndhwm

    @property
    def rcvhwm(self) -> int:
        """``RCVHWM`` (int, default 1000)."""
        return cast(int, self._get_option(_O.RCVHWM))

    @rcvhwm.setter
    def rcvhwm(self, value: int) -> None:
        self._set_option(_O.RCVHWM, value)

    RCVHWM = rcvhwm

    @property
    def multicast_hops(self) -> int:
        """``MULTICAST_HOPS`` (int, default 1)."""
        return cast(int, self._get_option(_O.MULTICAST_HOPS))

    @multicast_hops.setter
    def multicast_hops(self, value: int) -> None:
        self._set_option(_O.MULTICAST_HOPS, value)

    MULTICAST_HOPS = multicast_hops

    @property
    def rcvtimeo(self) -> int:
        """``RCVTIMEO`` (int, default -1)."""
        return cast(int, self._get_option(_O.RCVTIMEO))

    @rcvtimeo.setter
    def rcvtimeo(self, value: int) -> None:
        self._set_option(_O.RCVTIMEO, value)

    RCVTIMEO = rcvtimeo

    @property
    def sndtimeo(self) -> int:
        """``SNDTIMEO`` (int, default -1)."""
        return cast(int, self._get_option(_O.SNDTIMEO))

    @sndtimeo.setter
    def sndtimeo(self, value: int) -> None:
        self._set_option(_O.SNDTIMEO, value)

    SNDTIMEO = sndtimeo

    @property
    def last_endpoint(self) -> str:
        """``LAST_ENDPOINT`` (str, default ''); read-only."""
        return cast(str, self._get_option(_O.LAST_ENDPOINT))

    LAST_ENDPOINT = last_endpoint

    @property
    def router_mandatory(self) -> int:
        """``ROUTER_MANDATORY`` (int, default 0); write-only: reading it raises
        ``ZMQError(EINVAL)``, as in libzmq; for REP, ROUTER sockets."""
        return cast(int, self._get_option(_O.ROUTER_MANDATORY))

    @router_mandatory.setter
    def router_mandatory(self, value: int) -> None:
        self._set_option(_O.ROUTER_MANDATORY, value)

    ROUTER_MANDATORY = router_mandatory

    @property
    def tcp_keepalive(self) -> int:
        """``TCP_KEEPALIVE`` (int, default -1)."""
        return cast(int, self._get_option(_O.TCP_KEEPALIVE))

    @tcp_keepalive.setter
    def tcp_keepalive(self, value: int) -> None:
        self._set_option(_O.TCP_KEEPALIVE, value)

    TCP_KEEPALIVE = tcp_keepalive

    @property
    def tcp_keepalive_cnt(self) -> int:
        """``TCP_KEEPALIVE_CNT`` (int, default -1)."""
        return cast(int, self._get_option(_O.TCP_KEEPALIVE_CNT))

    @tcp_keepalive_cnt.setter
    def tcp_keepalive_cnt(self, value: int) -> None:
        self._set_option(_O.TCP_KEEPALIVE_CNT, value)

    TCP_KEEPALIVE_CNT = tcp_keepalive_cnt

    @property
    def tcp_keepalive_idle(self) -> int:
        """``TCP_KEEPALIVE_IDLE`` (int, default -1)."""
        return cast(int, self._get_option(_O.TCP_KEEPALIVE_IDLE))

    @tcp_keepalive_idle.setter
    def tcp_keepalive_idle(self, value: int) -> None:
        self._set_option(_O.TCP_KEEPALIVE_IDLE, value)

    TCP_KEEPALIVE_IDLE = tcp_keepalive_idle

    @property
    def tcp_keepalive_intvl(self) -> int:
        """``TCP_KEEPALIVE_INTVL`` (int, default -1)."""
        return cast(int, self._get_option(_O.TCP_KEEPALIVE_INTVL))

    @tcp_keepalive_intvl.setter
    def tcp_keepalive_intvl(self, value: int) -> None:
        self._set_option(_O.TCP_KEEPALIVE_INTVL, value)

    TCP_KEEPALIVE_INTVL = tcp_keepalive_intvl

    @property
    def immediate(self) -> int:
        """``IMMEDIATE`` (int, default 0)."""
        return cast(int, self._get_option(_O.IMMEDIATE))

    @immediate.setter
    def immediate(self, value: int) -> None:
        self._set_option(_O.IMMEDIATE, value)

    IMMEDIATE = immediate

    @property
    def xpub_verbose(self) -> int:
        """``XPUB_VERBOSE`` (int, default 0); write-only: reading it raises ``ZMQError(EINVAL)``, as
        in libzmq; for PUB, XPUB sockets."""
        return cast(int, self._get_option(_O.XPUB_VERBOSE))

    @xpub_verbose.setter
    def xpub_verbose(self, value: int) -> None:
        self._set_option(_O.XPUB_VERBOSE, value)

    XPUB_VERBOSE = xpub_verbose

    @property
    def ipv6(self) -> int:
        """``IPV6`` (int, default 0)."""
        return cast(int, self._get_option(_O.IPV6))

    @ipv6.setter
    def ipv6(self, value: int) -> None:
        self._set_option(_O.IPV6, value)

    IPV6 = ipv6

    @property
    def mechanism(self) -> int:
        """``MECHANISM`` (int, default 0); read-only."""
        return cast(int, self._get_option(_O.MECHANISM))

    MECHANISM = mechanism

    @property
    def plain_server(self) -> int:
        """``PLAIN_SERVER`` (int, default 0)."""
        return cast(int, self._get_option(_O.PLAIN_SERVER))

    @plain_server.setter
    def plain_server(self, value: int) -> None:
        self._set_option(_O.PLAIN_SERVER, value)

    PLAIN_SERVER = plain_server

    @property
    def plain_username(self) -> bytes:
        """``PLAIN_USERNAME`` (bytes, default b'')."""
        return cast(bytes, self._get_option(_O.PLAIN_USERNAME))

    @plain_username.setter
    def plain_username(self, value: bytes) -> None:
        self._set_option(_O.PLAIN_USERNAME, value)

    PLAIN_USERNAME = plain_username

    @property
    def plain_password(self) -> bytes:
        """``PLAIN_PASSWORD`` (bytes, default b'')."""
        return cast(bytes, self._get_option(_O.PLAIN_PASSWORD))

    @plain_password.setter
    def plain_password(self, value: bytes) -> None:
        self._set_option(_O.PLAIN_PASSWORD, value)

    PLAIN_PASSWORD = plain_password

    @property
    def curve_server(self) -> int:
        """``CURVE_SERVER`` (int, default 0)."""
        return cast(int, self._get_option(_O.CURVE_SERVER))

    @curve_server.setter
    def curve_server(self, value: int) -> None:
        self._set_option(_O.CURVE_SERVER, value)

    CURVE_SERVER = curve_server

    @property
    def curve_publickey(self) -> bytes:
        """``CURVE_PUBLICKEY`` (bytes, default b''); write-only: reading it raises
        ``ZMQError(EINVAL)``, as in libzmq."""
        return cast(bytes, self._get_option(_O.CURVE_PUBLICKEY))

    @curve_publickey.setter
    def curve_publickey(self, value: bytes) -> None:
        self._set_option(_O.CURVE_PUBLICKEY, value)

    CURVE_PUBLICKEY = curve_publickey

    @property
    def curve_secretkey(self) -> bytes:
        """``CURVE_SECRETKEY`` (bytes, default b''); write-only: reading it raises
        ``ZMQError(EINVAL)``, as in libzmq."""
        return cast(bytes, self._get_option(_O.CURVE_SECRETKEY))

    @curve_secretkey.setter
    def curve_secretkey(self, value: bytes) -> None:
        self._set_option(_O.CURVE_SECRETKEY, value)

    CURVE_SECRETKEY = curve_secretkey

    @property
    def curve_serverkey(self) -> bytes:
        """``CURVE_SERVERKEY`` (bytes, default b''); write-only: reading it raises
        ``ZMQError(EINVAL)``, as in libzmq."""
        return cast(bytes, self._get_option(_O.CURVE_SERVERKEY))

    @curve_serverkey.setter
    def curve_serverkey(self, value: bytes) -> None:
        self._set_option(_O.CURVE_SERVERKEY, value)

    CURVE_SERVERKEY = curve_serverkey

    @property
    def probe_router(self) -> int:
        """``PROBE_ROUTER`` (int, default 0); write-only: reading it raises ``ZMQError(EINVAL)``, as
        in libzmq; for DEALER, REP, REQ, ROUTER sockets."""
        return cast(int, self._get_option(_O.PROBE_ROUTER))

    @probe_router.setter
    def probe_router(self, value: int) -> None:
        self._set_option(_O.PROBE_ROUTER, value)

    PROBE_ROUTER = probe_router

    @property
    def req_correlate(self) -> int:
        """``REQ_CORRELATE`` (int, default 0); write-only: reading it raises ``ZMQError(EINVAL)``,
        as in libzmq; for REQ sockets."""
        return cast(int, self._get_option(_O.REQ_CORRELATE))

    @req_correlate.setter
    def req_correlate(self, value: int) -> None:
        self._set_option(_O.REQ_CORRELATE, value)

    REQ_CORRELATE = req_correlate

    @property
    def req_relaxed(self) -> int:
        """``REQ_RELAXED`` (int, default 0); write-only: reading it raises ``ZMQError(EINVAL)``, as
        in libzmq; for REQ sockets."""
        return cast(int, self._get_option(_O.REQ_RELAXED))

    @req_relaxed.setter
    def req_relaxed(self, value: int) -> None:
        self._set_option(_O.REQ_RELAXED, value)

    REQ_RELAXED = req_relaxed

    @property
    def conflate(self) -> int:
        """``CONFLATE`` (int, default 0)."""
        return cast(int, self._get_option(_O.CONFLATE))

    @conflate.setter
    def conflate(self, value: int) -> None:
        self._set_option(_O.CONFLATE, value)

    CONFLATE = conflate

    @property
    def zap_domain(self) -> bytes:
        """``ZAP_DOMAIN`` (bytes, default b'')."""
        return cast(bytes, self._get_option(_O.ZAP_DOMAIN))

    @zap_domain.setter
    def zap_domain(self, value: bytes) -> None:
        self._set_option(_O.ZAP_DOMAIN, value)

    ZAP_DOMAIN = zap_domain

    @property
    def router_handover(self) -> int:
        """``ROUTER_HANDOVER`` (int, default 0); write-only: reading it raises ``ZMQError(EINVAL)``,
        as in libzmq; for REP, ROUTER sockets."""
        return cast(int, self._get_option(_O.ROUTER_HANDOVER))

    @router_handover.setter
    def router_handover(self, value: int) -> None:
        self._set_option(_O.ROUTER_HANDOVER, value)

    ROUTER_HANDOVER = router_handover

    @property
    def connect_routing_id(self) -> bytes:
        """``CONNECT_ROUTING_ID`` (bytes, default b''); write-only: reading it raises
        ``ZMQError(EINVAL)``, as in libzmq."""
        return cast(bytes, self._get_option(_O.CONNECT_ROUTING_ID))

    @connect_routing_id.setter
    def connect_routing_id(self, value: bytes) -> None:
        self._set_option(_O.CONNECT_ROUTING_ID, value)

    CONNECT_ROUTING_ID = connect_routing_id

    @property
    def handshake_ivl(self) -> int:
        """``HANDSHAKE_IVL`` (int, default 30000)."""
        return cast(int, self._get_option(_O.HANDSHAKE_IVL))

    @handshake_ivl.setter
    def handshake_ivl(self, value: int) -> None:
        self._set_option(_O.HANDSHAKE_IVL, value)

    HANDSHAKE_IVL = handshake_ivl

    @property
    def xpub_nodrop(self) -> int:
        """``XPUB_NODROP`` (int, default 0); write-only: reading it raises ``ZMQError(EINVAL)``, as
        in libzmq; for PUB, RADIO, XPUB sockets."""
        return cast(int, self._get_option(_O.XPUB_NODROP))

    @xpub_nodrop.setter
    def xpub_nodrop(self, value: int) -> None:
        self._set_option(_O.XPUB_NODROP, value)

    XPUB_NODROP = xpub_nodrop

    @property
    def xpub_manual(self) -> int:
        """``XPUB_MANUAL`` (int, default 0); write-only: reading it raises ``ZMQError(EINVAL)``, as
        in libzmq; for PUB, XPUB sockets."""
        return cast(int, self._get_option(_O.XPUB_MANUAL))

    @xpub_manual.setter
    def xpub_manual(self, value: int) -> None:
        self._set_option(_O.XPUB_MANUAL, value)

    XPUB_MANUAL = xpub_manual

    @property
    def xpub_welcome_msg(self) -> bytes:
        """``XPUB_WELCOME_MSG`` (bytes, default b''); write-only: reading it raises
        ``ZMQError(EINVAL)``, as in libzmq; for PUB, XPUB sockets."""
        return cast(bytes, self._get_option(_O.XPUB_WELCOME_MSG))

    @xpub_welcome_msg.setter
    def xpub_welcome_msg(self, value: bytes) -> None:
        self._set_option(_O.XPUB_WELCOME_MSG, value)

    XPUB_WELCOME_MSG = xpub_welcome_msg

    @property
    def heartbeat_ivl(self) -> int:
        """``HEARTBEAT_IVL`` (int, default 0)."""
        return cast(int, self._get_option(_O.HEARTBEAT_IVL))

    @heartbeat_ivl.setter
    def heartbeat_ivl(self, value: int) -> None:
        self._set_option(_O.HEARTBEAT_IVL, value)

    HEARTBEAT_IVL = heartbeat_ivl

    @property
    def heartbeat_ttl(self) -> int:
        """``HEARTBEAT_TTL`` (int, default 0)."""
        return cast(int, self._get_option(_O.HEARTBEAT_TTL))

    @heartbeat_ttl.setter
    def heartbeat_ttl(self, value: int) -> None:
        self._set_option(_O.HEARTBEAT_TTL, value)

    HEARTBEAT_TTL = heartbeat_ttl

    @property
    def heartbeat_timeout(self) -> int:
        """``HEARTBEAT_TIMEOUT`` (int, default -1)."""
        return cast(int, self._get_option(_O.HEARTBEAT_TIMEOUT))

    @heartbeat_timeout.setter
    def heartbeat_timeout(self, value: int) -> None:
        self._set_option(_O.HEARTBEAT_TIMEOUT, value)

    HEARTBEAT_TIMEOUT = heartbeat_timeout

    @property
    def xpub_verboser(self) -> int:
        """``XPUB_VERBOSER`` (int, default 0); write-only: reading it raises ``ZMQError(EINVAL)``,
        as in libzmq; for PUB, XPUB sockets."""
        return cast(int, self._get_option(_O.XPUB_VERBOSER))

    @xpub_verboser.setter
    def xpub_verboser(self, value: int) -> None:
        self._set_option(_O.XPUB_VERBOSER, value)

    XPUB_VERBOSER = xpub_verboser

    @property
    def connect_timeout(self) -> int:
        """``CONNECT_TIMEOUT`` (int, default 0)."""
        return cast(int, self._get_option(_O.CONNECT_TIMEOUT))

    @connect_timeout.setter
    def connect_timeout(self, value: int) -> None:
        self._set_option(_O.CONNECT_TIMEOUT, value)

    CONNECT_TIMEOUT = connect_timeout

    @property
    def zap_enforce_domain(self) -> int:
        """``ZAP_ENFORCE_DOMAIN`` (int, default 0)."""
        return cast(int, self._get_option(_O.ZAP_ENFORCE_DOMAIN))

    @zap_enforce_domain.setter
    def zap_enforce_domain(self, value: int) -> None:
        self._set_option(_O.ZAP_ENFORCE_DOMAIN, value)

    ZAP_ENFORCE_DOMAIN = zap_enforce_domain

    @property
    def multicast_loop(self) -> int:
        """``MULTICAST_LOOP`` (int, default 1)."""
        return cast(int, self._get_option(_O.MULTICAST_LOOP))

    @multicast_loop.setter
    def multicast_loop(self, value: int) -> None:
        self._set_option(_O.MULTICAST_LOOP, value)

    MULTICAST_LOOP = multicast_loop

    @property
    def stream_notify(self) -> int:
        """``STREAM_NOTIFY`` (int, default 1); write-only: reading it raises ``ZMQError(EINVAL)``,
        as in libzmq; for STREAM sockets."""
        return cast(int, self._get_option(_O.STREAM_NOTIFY))

    @stream_notify.setter
    def stream_notify(self, value: int) -> None:
        self._set_option(_O.STREAM_NOTIFY, value)

    STREAM_NOTIFY = stream_notify

    @property
    def xsub_verbose_unsubscribe(self) -> int:
        """``XSUB_VERBOSE_UNSUBSCRIBE`` (int, default 0); write-only: reading it raises
        ``ZMQError(EINVAL)``, as in libzmq; for XSUB sockets."""
        return cast(int, self._get_option(_O.XSUB_VERBOSE_UNSUBSCRIBE))

    @xsub_verbose_unsubscribe.setter
    def xsub_verbose_unsubscribe(self, value: int) -> None:
        self._set_option(_O.XSUB_VERBOSE_UNSUBSCRIBE, value)

    XSUB_VERBOSE_UNSUBSCRIBE = xsub_verbose_unsubscribe

    @property
    def busy_poll(self) -> int:
        """``BUSY_POLL`` (int, default 0)."""
        return cast(int, self._get_option(_O.BUSY_POLL))

    @busy_poll.setter
    def busy_poll(self, value: int) -> None:
        self._set_option(_O.BUSY_POLL, value)

    BUSY_POLL = busy_poll
