"""Driving the integration engine in tests: a connector file per test (and the runtime the
composition root builds from it), and a deterministic drain (deliver the outbox, run due jobs)
where a test does not need a real broker."""

from __future__ import annotations

import contextlib
import textwrap
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import dramatiq
from sqlalchemy import select, update

from hub.bootstrap import Runtime, build_runtime
from hub.db import Database
from hub.domain.base import utcnow
from hub.domain.integration.models import IntegrationJob, JobStatus
from hub.domain.outbox.models import OutboxEvent
from hub.settings import Settings
from tests.support import Hub

FAST_JOBS = """
[jobs.push_sales_order]
min_backoff = 0.01
max_backoff = 0.05
[jobs.cancel_sales_order]
min_backoff = 0.01
max_backoff = 0.05
[jobs.push_outbound]
min_backoff = 0.01
max_backoff = 0.05
[jobs.cancel_outbound]
min_backoff = 0.01
max_backoff = 0.05
[jobs.notify]
min_backoff = 0.01
max_backoff = 0.05
"""


_current: dict[str, Runtime] = {}


def use_connectors(settings: Settings, tmp_path: Path, toml: str, fast: bool = True) -> Settings:
    """Write a connector file and build the runtime of it (:func:`current`); the settings
    naming it."""
    path = tmp_path / "hub.toml"
    path.write_text(textwrap.dedent(toml) + (FAST_JOBS if fast else ""), encoding="utf-8")
    configured = replace(settings, connectors_file=path)
    _current["runtime"] = build_runtime(configured, environ={})
    return configured


def current() -> Runtime:
    """The runtime of the last :func:`use_connectors` (one without connectors before it)."""
    if "runtime" not in _current:
        _current["runtime"] = build_runtime(Settings())
    return _current["runtime"]


def reset() -> None:
    _current.clear()


async def deliver_events(db: Database, event_ids: list[int]) -> dict[int, list[str]]:
    """Deliver these events to the handlers of :func:`current`."""
    return await current().deliver_events(db, event_ids)


async def jobs(db: Database) -> list[IntegrationJob]:
    async with db.read() as s:
        return list((await s.scalars(select(IntegrationJob).order_by(IntegrationJob.id))).all())


async def drain(db: Database, rounds: int = 50) -> list[str]:
    """Deliver every unhandled event and run every open job, as often as it takes; what each
    run returned (a retry shows as "retry"). Retrying jobs are run at once, not at their time."""
    outcomes: list[str] = []
    for _ in range(rounds):
        async with db.read() as s:
            events = list(await s.scalars(select(OutboxEvent.id).where(OutboxEvent.handled_at.is_(None))))
        if events:
            try:
                await deliver_events(db, events)
            except Exception:  # noqa: BLE001 - a failing handler is retried next round
                outcomes.append("handler-failed")
        async with db.write() as s:
            await s.execute(
                update(IntegrationJob)
                .where(IntegrationJob.status == JobStatus.RETRYING.value)
                .values(next_attempt_at=utcnow() - timedelta(seconds=1))
            )
            open_ids = list(
                await s.scalars(
                    select(IntegrationJob.id)
                    .where(IntegrationJob.status.in_([JobStatus.PENDING.value, JobStatus.RETRYING.value]))
                    .order_by(IntegrationJob.id)
                )
            )
        if not events and not open_ids:
            return outcomes
        for job_id in open_ids:
            try:
                outcomes.append(await current().engine.run_job(db, job_id))
            except dramatiq.Retry:
                outcomes.append("retry")
    raise AssertionError(f"not drained after {rounds} rounds: {outcomes[-10:]}")


def memory(role: str) -> Any:
    """The in-process connector of ``role`` (memory ERP/WMS, log notifier)."""
    return current().connectors.get(role)


@contextlib.asynccontextmanager
async def hub_with(settings: Settings, db: Database, tmp_path: Path, toml: str) -> AsyncIterator[Hub]:
    """The app under test with a connector file (its hooks and jobs use it)."""
    configured = use_connectors(settings, tmp_path, toml)
    try:
        async with Hub.start(configured, db, runtime=current()) as h:
            yield h
    finally:
        reset()
