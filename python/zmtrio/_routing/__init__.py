"""Routing: how each socket type picks the peer to send to and receive from.

=========  ==============  ============  ===========
type       send            receive       peers
=========  ==============  ============  ===========
PAIR       exclusive       exclusive     one at most
PUSH       load-balance    (none)        any
PULL       (none)          fair-queue    any
=========  ==============  ============  ===========

Strategies, one module each: load-balance (libzmq ``lb_t``: round-robin over peers whose
pipe has room; the sender blocks when none has) and fair-queue (libzmq ``fq_t``: one message
from each peer that has some, in turn). Each socket type is a :class:`Pattern` composed from
them, in a module per family. Every strategy moves whole messages only.
"""

from __future__ import annotations

from .._constants import SocketType
from ._exclusive import Pair
from ._pattern import Pattern
from ._pipeline import Pull, Push

__all__ = ["PATTERNS", "Pattern"]

#: The behaviour of each socket type zmtrio implements.
PATTERNS: dict[SocketType, type[Pattern]] = {
    SocketType.PAIR: Pair,
    SocketType.PUSH: Push,
    SocketType.PULL: Pull,
}
