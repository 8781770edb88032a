"""Malamute for trio: a broker and a client speaking Malamute's protocol (``mlm_proto``).

Malamute gives clients of one broker named streams (publish/subscribe by subject pattern),
mailboxes (direct messages, held while the addressee is away) and services (requests routed
to workers by subject pattern). zmtrio's :class:`Broker` and :class:`Client` are
wire-compatible with the C ``malamute`` broker and ``mlm_client``; the broker can also keep
mailboxes in SQLite across restarts (``store=``)::

    async with zmtrio.Context() as ctx:
        async with Broker(ctx, "tcp://127.0.0.1:*") as broker, Client(ctx) as client:
            await client.connect(broker.endpoints[0], "me")
            await client.sendto("me", "hello", b"world")
            print(await client.recv())

Layout: ``_codec`` (the protocol, one table of messages), ``_pattern`` (subject patterns),
``_store`` (mailboxes in memory or SQLite), ``_broker``, ``_client``.
"""

from __future__ import annotations

from ._broker import Broker as Broker
from ._broker import BrokerStatistics as BrokerStatistics
from ._broker import QueueLimits as QueueLimits
from ._client import Client as Client
from ._client import Delivery as Delivery
from ._client import MalamuteError as MalamuteError

__all__ = ["Broker", "BrokerStatistics", "Client", "Delivery", "MalamuteError", "QueueLimits"]

for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
