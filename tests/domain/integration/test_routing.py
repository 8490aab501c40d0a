"""Routing events to jobs: pure rules, no database."""

from __future__ import annotations

from hub.domain.integration.policies import IntegrationRules, NotificationRule
from hub.domain.integration.routing import (
    JobSpec,
    Push,
    approval_jobs,
    cancellation_jobs,
    narrowed_by_customer,
    notification_jobs,
    replenishment_jobs,
)
from hub.domain.outbox.kinds import EventKind

BOTH = IntegrationRules(roles=frozenset({"erp", "wms"}))


def test_an_approval_pushes_the_sales_order_and_one_outbound_order() -> None:
    jobs = approval_jobs(BOTH, 42, ["W1"])
    assert [(j.key, dict(j.payload)) for j in jobs] == [
        ("erp:push_sales_order:order:42", {}),
        ("wms:push_outbound:order:42", {"warehouse": "W1", "split": False}),
    ]


def test_an_approval_split_over_warehouses_pushes_a_part_per_warehouse() -> None:
    jobs = approval_jobs(BOTH, 42, ["W1", "W2"])
    assert [(j.key, dict(j.payload)) for j in jobs] == [
        ("erp:push_sales_order:order:42", {}),
        ("wms:push_outbound:order:42:W1", {"warehouse": "W1", "split": True}),
        ("wms:push_outbound:order:42:W2", {"warehouse": "W2", "split": True}),
    ]


def test_an_approval_pushes_only_to_configured_roles() -> None:
    assert [j.key for j in approval_jobs(IntegrationRules(roles=frozenset({"erp"})), 7, ["W1"])] == [
        "erp:push_sales_order:order:7"
    ]
    assert [j.key for j in approval_jobs(IntegrationRules(roles=frozenset({"wms"})), 7, ["W1"])] == [
        "wms:push_outbound:order:7"
    ]
    assert approval_jobs(IntegrationRules(), 7, ["W1"]) == []


def test_a_cancellation_cancels_each_push() -> None:
    pushes = [
        Push("erp", "push_sales_order", "erp:push_sales_order:order:9", {}),
        Push("wms", "push_outbound", "wms:push_outbound:order:9:W2", {"warehouse": "W2", "split": True}),
    ]
    jobs = cancellation_jobs(9, pushes)
    assert [(j.key, dict(j.payload)) for j in jobs] == [
        ("erp:cancel_sales_order:order:9", {"push": "erp:push_sales_order:order:9"}),
        (
            "wms:cancel_outbound:order:9:W2",
            {"warehouse": "W2", "split": True, "push": "wms:push_outbound:order:9:W2"},
        ),
    ]
    assert cancellation_jobs(9, []) == []


def test_a_replenishment_request_becomes_a_purchase_request_to_the_erp() -> None:
    payload = {"reference": "R1", "warehouse": "W1", "lines": [{"sku": "A", "quantity": 5}]}
    [job] = replenishment_jobs(BOTH, 3, payload)
    assert (job.key, dict(job.payload)) == ("erp:push_purchase_request:replenishment:3", payload)
    assert replenishment_jobs(IntegrationRules(roles=frozenset({"wms"})), 3, payload) == []


RULES = IntegrationRules(
    roles=frozenset({"notify.sales", "notify.acme"}),
    rules=(
        NotificationRule(events=[EventKind.ORDER_APPROVED, EventKind.ORDER_CANCELLED], to=["notify.sales"]),
        NotificationRule(events=["order.*"], to=["notify.acme", "notify.sales"], customers=["ACME"]),
    ),
)


def test_notifications_go_once_to_each_role_a_matching_rule_names() -> None:
    assert notification_jobs(RULES, 5, "order.approved", "ACME") == [
        JobSpec("notify.acme", "notify", "event", 5, payload={"kind": "order.approved"}),
        JobSpec("notify.sales", "notify", "event", 5, payload={"kind": "order.approved"}),
    ]
    assert [j.role for j in notification_jobs(RULES, 5, "order.approved", "BETA")] == ["notify.sales"]
    assert [j.role for j in notification_jobs(RULES, 5, "order.placed", "ACME")] == [
        "notify.acme",
        "notify.sales",
    ]
    assert notification_jobs(RULES, 5, "order.placed", "BETA") == []
    assert notification_jobs(RULES, 5, "replenishment.requested", None) == []


def test_the_customer_is_needed_only_when_a_matching_rule_names_customers() -> None:
    assert narrowed_by_customer(RULES, "order.placed")
    assert not narrowed_by_customer(RULES, "replenishment.requested")
    assert not narrowed_by_customer(IntegrationRules(rules=RULES.rules[:1]), "order.approved")
