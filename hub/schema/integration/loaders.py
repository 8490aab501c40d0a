"""Batching each order's sync state: one query per request, not one per order."""

from __future__ import annotations

from collections.abc import Sequence

from hub.domain.errors import DomainError
from hub.domain.integration.services import sync_states
from hub.schema.common import AppInfo, denied_as_null
from hub.schema.integration.types import SyncState


async def sync_state(info: AppInfo, order_id: int, peer: str) -> SyncState | None:
    """The order's state with ``peer`` ("erp" or "wms"); None for anonymous callers and for those
    the domain refuses it (customers)."""
    p = info.context.principal
    if p is None:
        return None
    db = info.context.db

    async def load(keys: Sequence[tuple[int, str]]) -> list[SyncState | None]:
        try:
            async with db.read() as session:
                states = await sync_states(session, p, sorted({k[0] for k in keys}))
        except DomainError as e:
            denied_as_null(e)
            states = {}
        return [SyncState.of(states[k]) if k in states else None for k in keys]

    loader = info.context.loader("sync", load)
    return await loader.load((order_id, peer))
