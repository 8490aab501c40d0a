"""The integration job runtime: the engine that runs jobs (:mod:`.engine`), the dispatcher that
sends them (:mod:`.dispatcher`) and their Dramatiq actors (:mod:`.actors`). The rules are the
domain's (:mod:`hub.domain.integration`); the composition root (:mod:`hub.bootstrap`) wires them."""

from __future__ import annotations

from jobs.integration.actors import IntegrationActors
from jobs.integration.dispatcher import JobDispatcher
from jobs.integration.engine import JobEngine

__all__ = ["IntegrationActors", "JobDispatcher", "JobEngine"]
