"""Malamute for trio: a broker and a client speaking Malamute's protocol (``mlm_proto``).

Malamute gives clients of one broker named streams (publish/subscribe by subject pattern),
mailboxes (direct messages, held while the addressee is away) and services (requests routed
to workers by subject pattern). zmtrio's broker and client are wire-compatible with the C
``malamute`` broker and ``mlm_client``; the broker can also keep mailboxes in SQLite across
restarts.
"""

from __future__ import annotations

__all__: list[str] = []
