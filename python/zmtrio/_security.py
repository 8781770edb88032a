"""Security options: which mechanism a socket runs, in which role, with which keys.

libzmq derives the mechanism from the options set last (``options.cpp``): ``PLAIN_SERVER``
and ``CURVE_SERVER`` pick the mechanism and the role (0 goes back to NULL); a PLAIN user
name or password makes a PLAIN client; a CURVE key makes CURVE, and ``CURVE_SERVERKEY``
a CURVE client. ``MECHANISM`` reads the result. This module keeps the socket's option
table consistent with those rules and turns it into the Rust connection's settings.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Final

from . import _core
from ._options import SocketOption

__all__ = ["Mechanism", "connection_security", "security_option_set"]


class Mechanism(enum.IntEnum):
    """Security mechanisms, numbered as libzmq's ``ZMQ_NULL``, ``ZMQ_PLAIN``, ``ZMQ_CURVE``."""

    NULL = 0
    PLAIN = 1
    CURVE = 2


#: The options that hold CURVE keys.
CURVE_KEYS: Final = frozenset(
    {SocketOption.CURVE_PUBLICKEY, SocketOption.CURVE_SECRETKEY, SocketOption.CURVE_SERVERKEY}
)
_ZERO_KEY: Final = bytes(32)


def security_option_set(options: dict[int, Any], option: int, value: int | bytes) -> None:
    """Apply libzmq's rules after ``option`` was set to ``value``: the mechanism and the role
    follow (the role is kept in ``PLAIN_SERVER`` and ``CURVE_SERVER`` alike)."""
    if option in (SocketOption.PLAIN_SERVER, SocketOption.CURVE_SERVER):
        plain = option == SocketOption.PLAIN_SERVER
        mechanism = (Mechanism.PLAIN if plain else Mechanism.CURVE) if value else Mechanism.NULL
        _set(options, mechanism, as_server=bool(value))
    elif option in (SocketOption.PLAIN_USERNAME, SocketOption.PLAIN_PASSWORD):
        _set(options, Mechanism.PLAIN, as_server=False)
    elif option == SocketOption.CURVE_SERVERKEY:
        _set(options, Mechanism.CURVE, as_server=False)
    elif option in CURVE_KEYS:
        _set(options, Mechanism.CURVE, as_server=bool(options[SocketOption.CURVE_SERVER]))


def _set(options: dict[int, Any], mechanism: Mechanism, *, as_server: bool) -> None:
    options[SocketOption.MECHANISM] = int(mechanism)
    options[SocketOption.PLAIN_SERVER] = options[SocketOption.CURVE_SERVER] = int(as_server)


def _raw_key(options: Mapping[int, Any], option: SocketOption) -> bytes:
    text: bytes = options[option]
    # An unset key is all zeros, as in libzmq: the handshake then fails at the first box.
    return _core.z85_decode(text) if text else _ZERO_KEY


def connection_security(options: Mapping[int, Any]) -> dict[str, Any]:
    """The keyword arguments of ``_core.Connection`` for a socket's options.

    ``zap`` says whether the handshake consults ZAP (spec §6): NULL when a ZAP domain is
    set; a CURVE server unless ``ZAP_ENFORCE_DOMAIN`` is on without a domain; a PLAIN
    server always (the engine does not need telling). What happens when no handler is
    bound is decided when the request comes (``_zap``).
    """
    mechanism = options[SocketOption.MECHANISM]
    as_server = bool(options[SocketOption.PLAIN_SERVER])
    domain = bool(options[SocketOption.ZAP_DOMAIN])
    if mechanism == Mechanism.NULL:
        return {"zap": domain}
    if mechanism == Mechanism.PLAIN:
        return {
            "mechanism": int(mechanism),
            "as_server": as_server,
            "username": options[SocketOption.PLAIN_USERNAME],
            "password": options[SocketOption.PLAIN_PASSWORD],
        }
    enforce = bool(options[SocketOption.ZAP_ENFORCE_DOMAIN])
    return {
        "mechanism": int(mechanism),
        "as_server": as_server,
        "zap": as_server and (domain or not enforce),
        "secret_key": _raw_key(options, SocketOption.CURVE_SECRETKEY),
        "server_key": b"" if as_server else _raw_key(options, SocketOption.CURVE_SERVERKEY),
    }
