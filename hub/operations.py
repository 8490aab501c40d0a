"""What an operator reads: readiness (``GET /readyz``), metrics (``GET /metrics``, Prometheus
text format) and the access log (one line per request on logger ``hub.access``).

The counts behind the backlog and job gauges are domain functions
(:func:`hub.domain.outbox.services.backlog`, :func:`hub.domain.integration.services.jobs_by_status`),
read when Prometheus scrapes. Each process keeps its own counters: scrape every process.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from urllib.parse import quote

import redis.asyncio as aioredis
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.db import Database
from hub.domain.base import utcnow
from hub.domain.integration.services import jobs_by_status
from hub.domain.outbox.services import backlog
from hub.migrations import head_revisions
from hub.schema.observe import RequestRecord, request_record_var
from hub.settings import Settings

__all__ = ["AccessLog", "Metrics", "Readiness", "operation_label"]

access_log = logging.getLogger("hub.access")

READY_TIMEOUT = 2.0  # seconds a readiness check or a scrape's database reads may take
MAX_OPERATION_NAMES = 100  # distinct operation labels per process; later new names count as "other"
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")


def operation_label(name: str | None) -> str:
    """A GraphQL operation name as a label value: ``anonymous`` for none, ``invalid`` for
    anything that is not a GraphQL name of at most 64 characters."""
    if name is None:
        return "anonymous"
    return name if _NAME.fullmatch(name) else "invalid"


class Readiness:
    """``GET /readyz``: the database answers and is migrated to the code's head, and the broker
    answers when Redis is configured; each check bounded by :data:`READY_TIMEOUT`."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.db = db
        self.redis_url = settings.redis_url
        self.heads = head_revisions(settings)

    async def _revisions(self) -> frozenset[str] | None:
        async with self.db.engine.connect() as conn:
            try:
                rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
            except Exception as e:
                if "alembic_version" in str(e):  # no such table (both databases say so): never migrated
                    return None
                raise
            return frozenset(str(r[0]) for r in rows.all())

    async def _ping_broker(self, url: str) -> None:
        client = aioredis.Redis.from_url(
            url, socket_connect_timeout=READY_TIMEOUT, socket_timeout=READY_TIMEOUT
        )
        try:
            await client.ping()
        finally:
            await client.aclose()

    async def _database_reason(self) -> str | None:
        try:
            revisions = await asyncio.wait_for(self._revisions(), READY_TIMEOUT)
        except TimeoutError:
            return f"database did not answer within {READY_TIMEOUT:g} s"
        except Exception as e:  # noqa: BLE001 - the class only: driver messages can name users
            return f"database unreachable ({type(e).__name__})"
        if revisions is None:
            return "database has no migrations: run hub migrate"
        if revisions != self.heads:
            at = ", ".join(sorted(revisions)) or "none"
            needs = ", ".join(sorted(self.heads))
            return f"database migrations are at {at}, the code needs {needs}: run hub migrate"
        return None

    async def _broker_reason(self) -> str | None:
        if self.redis_url is None:
            return None
        try:
            await asyncio.wait_for(self._ping_broker(self.redis_url), READY_TIMEOUT)
        except TimeoutError:
            return f"broker (Redis) did not answer within {READY_TIMEOUT:g} s"
        except Exception as e:  # noqa: BLE001
            return f"broker (Redis) unreachable ({type(e).__name__})"
        return None

    async def reason(self) -> str | None:
        """Why the process is not ready, in words with no secret in them; None when ready. The
        database and the broker are asked at once, so the answer comes within the timeout."""
        database, broker = await asyncio.gather(self._database_reason(), self._broker_reason())
        return database or broker

    async def endpoint(self, _request: Request) -> Response:
        reason = await self.reason()
        if reason is not None:
            return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
        return JSONResponse({"status": "ok"})


class Metrics:
    """The process's metrics, in a registry of its own (one per app)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.registry = r = CollectorRegistry()
        # The process's own (memory, CPU, open files, garbage collections, Python version).
        for collector in (PROCESS_COLLECTOR, GC_COLLECTOR, PLATFORM_COLLECTOR):
            r.register(collector)
        self._names: set[str] = set()
        self.requests = Counter(
            "hub_graphql_requests", "GraphQL operations run, by operation name.", ["operation"], registry=r
        )
        self.latency = Histogram(
            "hub_graphql_request_duration_seconds",
            "Time from the request's arrival to its response, by operation name.",
            ["operation"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.errors = Counter(
            "hub_graphql_errors",
            "GraphQL errors answered, by operation name and kind: internal (masked unexpected "
            "errors) or graphql (syntax, validation, limits, arguments).",
            ["operation", "kind"],
            registry=r,
        )
        self.responses = Counter(
            "hub_http_responses", "HTTP responses, by status code.", ["code"], registry=r
        )
        self.pool_in_use = Gauge(
            "hub_db_pool_connections_in_use", "Database connections checked out of the pool.", registry=r
        )
        self.pool_size = Gauge("hub_db_pool_size", "Connections the pool keeps open.", registry=r)
        self.backlog = Gauge(
            "hub_outbox_unhandled_events", "Outbox events not yet handled (the backlog).", registry=r
        )
        self.backlog_age = Gauge(
            "hub_outbox_oldest_unhandled_age_seconds",
            "Age of the oldest unhandled outbox event; 0 when there is none.",
            registry=r,
        )
        self.dead_events = Gauge(
            "hub_outbox_dead_events",
            "Outbox events that are dead letters: never to apply, or failed too often; staff see "
            "them in `deadEvents` and retry them with `deadEventRetry`.",
            registry=r,
        )
        self.jobs = Gauge("hub_integration_jobs", "Integration jobs, by status.", ["status"], registry=r)
        self.database_up = Gauge(
            "hub_metrics_database_up",
            "1 when this scrape read the backlog and job counts from the database, else 0.",
            registry=r,
        )

    def label(self, name: str | None) -> str:
        """:func:`operation_label`, and ``other`` for new names once :data:`MAX_OPERATION_NAMES`
        are known, so a client cannot grow the label set without bound."""
        value = operation_label(name)
        if value in self._names:
            return value
        if len(self._names) >= MAX_OPERATION_NAMES:
            return "other"
        self._names.add(value)
        return value

    def observe(self, record: RequestRecord, status: int, seconds: float) -> None:
        self.responses.labels(str(status)).inc()
        if not record.ran:
            return
        op = self.label(record.operation)
        self.requests.labels(op).inc()
        self.latency.labels(op).observe(seconds)
        if record.internal_errors:
            self.errors.labels(op, "internal").inc(record.internal_errors)
        if record.graphql_errors:
            self.errors.labels(op, "graphql").inc(record.graphql_errors)

    async def _read_database(self) -> None:
        async with self.db.read() as session:
            pending = await backlog(session)
            jobs = await jobs_by_status(session)
        self.backlog.set(pending.unhandled)
        self.dead_events.set(pending.dead)
        age = 0.0
        if pending.oldest_created_at is not None:
            age = max(0.0, (utcnow() - pending.oldest_created_at).total_seconds())
        self.backlog_age.set(age)
        for status, count in jobs.items():
            self.jobs.labels(status.value).set(count)

    async def endpoint(self, _request: Request) -> Response:
        pool = self.db.engine.pool
        checkedout = getattr(pool, "checkedout", None)
        size = getattr(pool, "size", None)
        if callable(checkedout) and callable(size):
            self.pool_in_use.set(checkedout())
            self.pool_size.set(size())
        try:
            await asyncio.wait_for(self._read_database(), READY_TIMEOUT)
            self.database_up.set(1)
        except Exception:  # noqa: BLE001 - a scrape still answers; the gauge says the reads failed
            self.database_up.set(0)
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


def _safe_path(path: str) -> str:
    # Percent-encode spaces, control characters and non-ASCII: one request stays one log line.
    return quote(path[:200], safe="/-._~!$&'()*+,;=:@%")


class AccessLog:
    """Outermost middleware: one INFO line per HTTP request on ``hub.access`` and the request
    metrics. The line holds the method, path (no query string), GraphQL operation name,
    status, duration, request id and user id — never headers, tokens or variables::

        POST /graphql op=productCreate status=200 ms=12.3 rid=3f2a9c0d1e4b5a69 user=7
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        record = RequestRecord()
        token = request_record_var.set(record)
        status = 500
        rid = "-"

        async def send_and_note(message: Message) -> None:
            nonlocal status, rid
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", ()):
                    if name == b"x-request-id":
                        rid = value.decode("latin-1")
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            request_record_var.reset(token)
            seconds = time.perf_counter() - started
            self.metrics.observe(record, status, seconds)
            access_log.info(
                "%s %s op=%s status=%d ms=%.1f rid=%s user=%s",
                scope.get("method", "-"),
                _safe_path(scope.get("path", "")),
                operation_label(record.operation) if record.ran else "-",
                status,
                seconds * 1000,
                rid,
                record.user_id if record.user_id is not None else "-",
            )
