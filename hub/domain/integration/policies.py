"""The connector file's rules, as plain values the engine decides with: each operation's retry
policy, the notification rules, stock sync, and which roles are configured.

The pydantic models validate values only (ranges, the order of ``min_backoff`` and
``max_backoff``); reading and checking the file against the configured connectors is
:mod:`hub.integration`'s business, which hands the result here as :class:`IntegrationRules`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "DEFAULT_POLICIES",
    "LEASE",
    "OVERDUE",
    "IntegrationRules",
    "JobPolicy",
    "NotificationRule",
    "StockSync",
]

# Defaults; HUB_JOB_LEASE_SECONDS and HUB_JOB_OVERDUE_SECONDS set them.
LEASE = timedelta(seconds=120)  # longer than any connector call with its quick retries
OVERDUE = timedelta(seconds=60)  # a due job not run this long after: its message was lost


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JobPolicy(_Strict):
    """How a kind of job retries: up to ``max_attempts`` runs in all, waiting ``min_backoff``
    seconds after the first failure and doubling up to ``max_backoff`` (a peer's own
    Retry-After is honoured, up to ``max_backoff``)."""

    max_attempts: int = Field(ge=1, le=100)
    min_backoff: float = Field(gt=0, le=3600)
    max_backoff: float = Field(gt=0, le=86400)

    @model_validator(mode="after")
    def _ordered(self) -> JobPolicy:
        if self.max_backoff < self.min_backoff:
            raise ValueError("max_backoff must not be below min_backoff")
        return self


# The explicit policy of each job (each is its own Dramatiq actor). Pushes of documents keep
# trying for about four hours (an ERP down for maintenance over lunch), notifications for
# about an hour (after that the news is stale), customers' webhooks for about a day.
DEFAULT_POLICIES: dict[str, JobPolicy] = {
    "push_sales_order": JobPolicy(max_attempts=15, min_backoff=5, max_backoff=1800),
    "cancel_sales_order": JobPolicy(max_attempts=15, min_backoff=5, max_backoff=1800),
    "push_outbound": JobPolicy(max_attempts=15, min_backoff=5, max_backoff=1800),
    "cancel_outbound": JobPolicy(max_attempts=15, min_backoff=5, max_backoff=1800),
    "push_purchase_request": JobPolicy(max_attempts=15, min_backoff=5, max_backoff=1800),
    "notify": JobPolicy(max_attempts=10, min_backoff=2, max_backoff=600),
    "pull_stock": JobPolicy(max_attempts=3, min_backoff=10, max_backoff=60),
}


class NotificationRule(_Strict):
    """``[[notifications]]``: which events go to which notifier roles. ``events`` are event
    kinds or patterns (``order.*``); ``customers`` narrows a rule to some customers' orders
    (customer codes), as a customer's own webhook subscription needs."""

    events: list[str] = Field(min_length=1)
    to: list[str] = Field(min_length=1)
    customers: list[str] = []

    def matches_kind(self, kind: str) -> bool:
        return any(fnmatch.fnmatchcase(kind, p) for p in self.events)

    def matches_customer(self, customer_code: str | None) -> bool:
        return not self.customers or customer_code in self.customers

    def matches(self, kind: str, customer_code: str | None) -> bool:
        return self.matches_kind(kind) and self.matches_customer(customer_code)


class StockSync(_Strict):
    """``[stock_sync]``: the role whose stock counts are the truth for on-hand quantities
    (pulled every ``interval`` seconds; 0 turns the pull off)."""

    source: str | None = None
    interval: float = Field(default=300, ge=0, le=86400)


@dataclass(frozen=True, slots=True)
class IntegrationRules:
    """What the engine decides with: the configured roles, the notifier roles that take one
    call per event (never digested), notification rules, job policies, stock sync, and how
    long a run holds its job (``lease``) and a due job may go unsent (``overdue``)."""

    roles: frozenset[str] = frozenset()
    per_event: frozenset[str] = frozenset()
    rules: tuple[NotificationRule, ...] = ()
    policies: Mapping[str, JobPolicy] = field(default_factory=lambda: dict(DEFAULT_POLICIES))
    stock_sync: StockSync = StockSync()
    lease: timedelta = LEASE
    overdue: timedelta = OVERDUE

    def has(self, role: str) -> bool:
        return role in self.roles

    def policy(self, operation: str) -> JobPolicy:
        return self.policies[operation]

    def digests(self, role: str) -> bool:
        """Whether a run of a notify job of ``role`` takes the role's other due ones with it."""
        return role not in self.per_event

    def batched(self, operation: str, role: str) -> bool:
        """Whether jobs may travel several per message (notify jobs of a per-event notifier)."""
        return operation == "notify" and role in self.per_event
