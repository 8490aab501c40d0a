"""Choosing and installing the Dramatiq broker.

Redis when ``HUB_REDIS_URL`` is set (any number of ``hub worker`` processes consume it);
otherwise Dramatiq's in-memory StubBroker, consumed by a worker thread inside ``hub serve``.
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO

from hub.settings import Settings

__all__ = ["install_broker"]


def install_broker(settings: Settings, *, namespace: str = "hub") -> dramatiq.Broker:
    """Create the broker for ``settings``, make it global and declare the hub's actors on it.

    ``namespace`` prefixes the Redis keys (tests use their own).
    """
    broker: dramatiq.Broker
    if settings.redis_url:
        broker = RedisBroker(url=settings.redis_url, namespace=namespace)
    else:
        broker = StubBroker()
        broker.emit_after("process_boot")
    broker.add_middleware(AsyncIO())
    dramatiq.set_broker(broker)
    from jobs import actors

    actors.declare(broker, settings)
    return broker
