"""Options as attributes, the pyzmq way: the generated typed properties plus pyzmq's aliases
(``hwm``, ``identity``), typed ``getsockopt``/``setsockopt`` and the ``*_string`` calls."""

from __future__ import annotations

from typing import cast, overload

from ._option_properties import BytesOption, IntOption, OptionProperties, StrOption
from ._options import SocketOption

__all__ = ["OptionAttributes"]


class OptionAttributes(OptionProperties):
    """Every libzmq option as an attribute, lowercase or uppercase (``sock.sndhwm``,
    ``sock.SNDHWM``), typed by its kind, as in pyzmq; ``getsockopt``/``setsockopt`` typed per
    option. A name that is no option raises ``AttributeError``: Python's own, with its
    "Did you mean" hint. (No ``__getattr__`` for pyzmq's wording: a class that has one loses
    CPython's specialised attribute loads, which measured as a sixth of an inproc send and
    recv.)

    The class using it provides ``_get_option`` and ``_set_option``.
    """

    __slots__ = ()

    @overload
    def getsockopt(self, option: IntOption) -> int: ...
    @overload
    def getsockopt(self, option: BytesOption) -> bytes: ...
    @overload
    def getsockopt(self, option: StrOption) -> str: ...
    @overload
    def getsockopt(self, option: int) -> int | bytes | str: ...
    def getsockopt(self, option: int) -> int | bytes | str:
        """Read a libzmq option (``zmtrio.SNDHWM``, ...).

        Raises ``ZMQError(EINVAL)`` for an unknown option or a write-only one.
        """
        return self._get_option(option)

    @overload
    def setsockopt(self, option: IntOption, value: int) -> None: ...
    @overload
    def setsockopt(self, option: BytesOption, value: bytes) -> None: ...
    @overload
    def setsockopt(self, option: int, value: int | bytes) -> None: ...
    def setsockopt(self, option: int, value: int | bytes) -> None:
        """Set a libzmq option (``zmtrio.SNDHWM``, ...).

        Raises ``ZMQError(EINVAL)`` for an unknown or read-only option or a value of the
        wrong type or range, and ``ZMQError(ENOTSUP)`` for one zmtrio does not implement yet.
        """
        self._set_option(option, value)

    get = getsockopt
    set = setsockopt

    def getsockopt_string(self, option: int, encoding: str = "utf-8") -> str:
        """Read a bytes (or string) option as text."""
        value = self._get_option(option)
        if isinstance(value, str):
            return value
        if isinstance(value, bytes):
            return value.decode(encoding)
        raise TypeError(f"option {option!r} is an int option, not a string one")

    def setsockopt_string(self, option: int, value: str, encoding: str = "utf-8") -> None:
        """Set a bytes option from text, encoded with ``encoding``."""
        self._set_option(option, value.encode(encoding))

    get_string = getsockopt_string
    set_string = setsockopt_string

    @property
    def hwm(self) -> int:
        """pyzmq's shorthand for both high-water marks: reads ``SNDHWM``; setting it sets
        ``SNDHWM`` and ``RCVHWM``."""
        return cast(int, self._get_option(SocketOption.SNDHWM))

    @hwm.setter
    def hwm(self, value: int) -> None:
        self._set_option(SocketOption.SNDHWM, value)
        self._set_option(SocketOption.RCVHWM, value)

    HWM = hwm
    identity = OptionProperties.routing_id
    IDENTITY = OptionProperties.routing_id
