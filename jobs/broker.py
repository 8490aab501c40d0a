"""Choosing the Dramatiq broker.

Redis when ``HUB_REDIS_URL`` is set (any number of ``hub worker`` processes consume it);
otherwise Dramatiq's in-memory StubBroker, consumed by a worker thread inside ``hub serve``.
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO

__all__ = ["create_broker"]


def create_broker(redis_url: str | None, *, namespace: str = "hub") -> dramatiq.Broker:
    """A broker on Redis at ``redis_url`` (keys prefixed with ``namespace``; tests use their
    own), or the in-memory one without it; made the global broker. Declares no actor: the
    composition root (:mod:`hub.bootstrap`) does."""
    broker: dramatiq.Broker
    if redis_url:
        broker = RedisBroker(url=redis_url, namespace=namespace)  # type: ignore[no-untyped-call]
    else:
        broker = StubBroker()
        broker.emit_after("process_boot")
    broker.add_middleware(AsyncIO())
    dramatiq.set_broker(broker)
    return broker
