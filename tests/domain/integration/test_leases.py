"""The job lease state machine's pure rules: backoff, outcomes of a run, recorded values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connectors.sdk import ConflictError, ExternalRef, PermanentError, TransientError
from hub.domain.integration.leases import (
    Outcome,
    backoff,
    binding_entity,
    error_text,
    failure_outcome,
    outcome_values,
)
from hub.domain.integration.models import JobStatus
from hub.domain.integration.policies import JobPolicy

POLICY = JobPolicy(max_attempts=5, min_backoff=5, max_backoff=60)
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def low(a: float, _b: float) -> float:
    return a


def secs(n: int) -> timedelta:
    return timedelta(seconds=n)


def high(_a: float, b: float) -> float:
    return b


def none(_a: float, _b: float) -> float:
    return 1.0


def test_backoff_doubles_from_the_first_wait_up_to_the_longest() -> None:
    assert [backoff(POLICY, n, jitter=none) for n in range(1, 6)] == [
        secs(5),
        secs(10),
        secs(20),
        secs(40),
        secs(60),
    ]
    assert backoff(POLICY, 0, jitter=none) == secs(5)


def test_backoff_jitter_is_plus_or_minus_twenty_percent_and_still_capped() -> None:
    assert backoff(POLICY, 2, jitter=low) == secs(8)
    assert backoff(POLICY, 2, jitter=high) == secs(12)
    assert backoff(POLICY, 10, jitter=high) == secs(60)


def test_a_retry_after_longer_than_the_backoff_wins_up_to_the_longest_wait() -> None:
    assert backoff(POLICY, 1, retry_after=30, jitter=none) == secs(30)
    assert backoff(POLICY, 1, retry_after=2, jitter=none) == secs(5)  # shorter: the backoff stands
    assert backoff(POLICY, 1, retry_after=600, jitter=none) == secs(60)


def test_a_permanent_refusal_fails_after_one_attempt() -> None:
    outcome = failure_outcome(POLICY, 1, 5, PermanentError("unknown customer", code="C1"), NOW, none)
    assert outcome == Outcome(JobStatus.FAILED, "PermanentError [C1]: unknown customer")


def test_a_transient_error_retries_after_the_backoff_or_the_peers_retry_after() -> None:
    outcome = failure_outcome(POLICY, 2, 5, TransientError("busy", retry_after=25), NOW, none)
    assert outcome == Outcome(
        JobStatus.RETRYING, "TransientError: busy", retry_at=NOW + timedelta(seconds=25)
    )
    outcome = failure_outcome(POLICY, 2, 5, TransientError("busy"), NOW, none)
    assert (outcome.status, outcome.retry_at) == (JobStatus.RETRYING, NOW + secs(10))


def test_a_conflict_waits_at_least_four_first_waits() -> None:
    outcome = failure_outcome(POLICY, 1, 5, ConflictError("locked by a clerk"), NOW, none)
    assert (outcome.status, outcome.retry_at) == (JobStatus.RETRYING, NOW + secs(20))


def test_an_unexpected_exception_retries_and_names_only_its_type() -> None:
    outcome = failure_outcome(POLICY, 1, 5, RuntimeError("https://x/?key=secret"), NOW, none)
    assert outcome.status == JobStatus.RETRYING
    assert outcome.error == "unexpected RuntimeError (see the worker's log)"


def test_with_its_attempts_used_up_a_job_gives_up() -> None:
    outcome = failure_outcome(POLICY, 5, 5, TransientError("down"), NOW, none)
    assert outcome == Outcome(JobStatus.FAILED, "TransientError: down (gave up after 5 attempts)")


def test_what_each_outcome_records() -> None:
    ref = ExternalRef("ext-1", "SO00000001")
    assert outcome_values(Outcome(JobStatus.SUCCEEDED, ref=ref), NOW) == {
        "status": "SUCCEEDED", "updated_at": NOW, "lease_until": None, "last_error": None,
        "finished_at": NOW, "external_id": "ext-1",
    }  # fmt: skip
    assert outcome_values(Outcome(JobStatus.FAILED, "nope"), NOW) == {
        "status": "FAILED", "updated_at": NOW, "lease_until": None, "last_error": "nope", "finished_at": NOW,
    }  # fmt: skip
    later = NOW + timedelta(seconds=10)
    assert outcome_values(Outcome(JobStatus.RETRYING, "busy", retry_at=later), NOW) == {
        "status": "RETRYING", "updated_at": NOW, "lease_until": None, "last_error": "busy",
        "next_attempt_at": later, "enqueued_at": NOW,
    }  # fmt: skip
    assert outcome_values(Outcome(JobStatus.CANCELLED, "not pushed"), NOW)["finished_at"] == NOW


def test_bindings_are_kept_per_document() -> None:
    assert binding_entity("push_sales_order", {}) == "sales_order"
    assert binding_entity("cancel_sales_order", {}) == "sales_order"
    assert binding_entity("push_outbound", {"warehouse": "W2"}) == "outbound/W2"
    assert binding_entity("cancel_outbound", {"warehouse": "W2"}) == "outbound/W2"
    assert binding_entity("push_purchase_request", {}) == "purchase_request"


def test_error_texts_are_capped() -> None:
    assert len(error_text(TransientError("x" * 5000))) == 1000
