"""``POST /hooks/<role>``: callbacks from the ERP or WMS serving ``role``.

1. The connector verifies the signature (and the timestamp, where the scheme has one) on the
   raw body before anything is parsed: a failure is **401** and nothing is written.
2. It parses the body (XML without entity expansion, JSON); a body it cannot use, or one that
   reports values outside the WMS bounds (:func:`connectors.wms.check_callback`: quantities,
   lengths, control characters; checked again here whatever the connector did), is **400**
   and nothing is written.
3. Each event is recorded once, by the sender's own event id (unique per role), in the same
   transaction as the outbox event that will apply it; a replayed event records nothing and is
   answered with success, as the sender expects.
4. The answer goes back at once; shipments and stock changes are applied by the job runtime.

Bodies over ``HUB_MAX_BODY_BYTES`` are refused with 413 before they are read in full. Nothing
a sender sends produces a 500 or a stack trace.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from connectors.wms import InvalidCallback, UnauthenticCallback, check_callback
from hub.db import Database
from hub.domain.base import utcnow
from hub.domain.integration.inbound import inbound_payloads, record_inbound
from hub.integration import IntegrationConfig

__all__ = ["Hooks"]

log = logging.getLogger("hub.hooks")


class Hooks:
    """The hook endpoint of one app: its connectors, built once."""

    def __init__(self, config: IntegrationConfig, db: Database) -> None:
        self.config = config
        self.db = db
        self._built: dict[str, Any] = {}

    def _connector(self, role: str) -> Any | None:
        instance = self.config.instances.get(role)
        if instance is None or not hasattr(instance.cls, "parse_callback"):
            return None
        if role not in self._built:
            self._built[role] = instance.create()
        return self._built[role]

    async def aclose(self) -> None:
        for c in self._built.values():
            await c.aclose()
        self._built.clear()

    @staticmethod
    def _answer(connector: Any, ok: bool, message: str, status: int, **extra: Any) -> Response:
        if hasattr(connector, "callback_answer"):
            media_type, body = connector.callback_answer(ok, message)
            return Response(body, status_code=status, media_type=media_type)
        return JSONResponse({"ok": ok, "message": message, **extra}, status_code=status)

    async def handle(self, request: Request) -> Response:
        role = request.path_params["role"]
        connector = self._connector(role)
        if connector is None:
            return JSONResponse({"ok": False, "message": "no such hook"}, status_code=404)
        body = await request.body()
        query = dict(request.query_params)
        headers = dict(request.headers)
        try:
            events = check_callback(connector.parse_callback(query, headers, body, utcnow()))
        except UnauthenticCallback as e:
            log.warning("hook %s: refused a callback: %s", role, e.message)
            return self._answer(connector, False, e.message, 401)
        except InvalidCallback as e:
            log.warning("hook %s: unusable callback: %s", role, e.message)
            return self._answer(connector, False, e.message, 400)
        except Exception:  # a connector's bug: the sender should try again later
            log.exception("hook %s: the connector failed to read a callback", role)
            return self._answer(connector, False, "could not be processed; try again later", 503)
        payloads = inbound_payloads(events)
        recorded: list[int] = []
        for attempt in (1, 2):
            try:
                async with self.db.write() as session:
                    recorded = await record_inbound(session, role, payloads)
                break
            except IntegrityError:
                # A concurrent delivery of the same event committed first: this one is a replay.
                if attempt == 2:
                    log.warning("hook %s: could not record a callback twice in a row", role)
                    return self._answer(connector, False, "could not be recorded; try again later", 503)
            except Exception:
                # The database is away or busy (asyncpg raises OSError before SQLAlchemy wraps
                # anything): the sender retries; nothing was kept.
                log.exception("hook %s: could not record a callback", role)
                return self._answer(connector, False, "could not be recorded; try again later", 503)
        duplicates = len(payloads) - len(recorded)
        return self._answer(connector, True, "", 200, received=len(recorded), duplicates=duplicates)
