"""The integration actors: one per operation (queue ``integration``), each with its policy
(Dramatiq's own retry count is a backstop: the job's attempts in the database decide), and
``pull_stock``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import dramatiq

from hub.db import Database
from hub.domain.integration.policies import IntegrationRules
from jobs.integration.engine import OPERATIONS, JobEngine

__all__ = ["QUEUE", "IntegrationActors"]

log = logging.getLogger("jobs.integration")

QUEUE = "integration"


class IntegrationActors:
    """The actors of ``engine`` on ``broker``; ``db`` gives the worker loop's database."""

    def __init__(self, broker: dramatiq.Broker, engine: JobEngine, rules: IntegrationRules,
                 db: Callable[[], Database]) -> None:  # fmt: skip
        self.actors: dict[str, dramatiq.Actor[Any, Any]] = {}
        for operation in OPERATIONS:
            policy = rules.policy(operation)

            async def run(job_id: int | list[int]) -> None:
                if isinstance(job_id, list):  # several notify jobs (see JobDispatcher._send_all)
                    await engine.run_jobs(db(), job_id)
                else:
                    await engine.run_job(db(), job_id)

            self.actors[operation] = dramatiq.actor(
                actor_name=f"integration_{operation}",
                queue_name=QUEUE,
                broker=broker,
                max_retries=policy.max_attempts + 5,
                min_backoff=int(policy.min_backoff * 1000),
                max_backoff=int(policy.max_backoff * 1000),
            )(run)
        pull = rules.policy("pull_stock")

        async def pull_actor(role: str) -> None:
            read, applied = await engine.pull_stock(db(), role)
            log.info("stock pulled from %s: %d level(s) read, %d applied", role, read, applied)

        self.actors["pull_stock"] = dramatiq.actor(
            actor_name="integration_pull_stock",
            queue_name=QUEUE,
            broker=broker,
            max_retries=pull.max_attempts,
            min_backoff=int(pull.min_backoff * 1000),
            max_backoff=int(pull.max_backoff * 1000),
        )(pull_actor)
        engine.send_later = self.send_later

    def send(self, operation: str, arg: int | str | list[int]) -> None:
        """Send a job (an id, several notify ids, or a role to pull stock from) to its actor."""
        self.actors[operation].send(arg)

    def send_later(self, operation: str, job_id: int, delay_ms: int) -> None:
        self.actors[operation].send_with_options(args=(job_id,), delay=delay_ms)
