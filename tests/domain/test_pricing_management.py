"""The rule-management services called directly (as a job or the Excel import would): times
without a zone are refused rather than guessed, every problem comes back at once, and an
ended promotion's window stays valid for the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from hub.domain.auth.models import Role
from hub.domain.auth.principal import Principal
from hub.domain.catalog.price_rules import CustomerPrice, PromotionKind
from hub.domain.errors import DomainError, ErrorCode
from hub.domain.money import parse_amount
from hub.domain.pricing import management as pricing
from tests.support import Hub

MANAGER = Principal(1, "m@test.hub", frozenset({Role.SALES_MANAGER}), None)


async def test_times_need_a_zone_and_are_stored_in_utc(hub: Hub) -> None:
    await hub.standard()
    acme = hub.seeded.customers["ACME"]
    async with hub.db.write() as s:
        with pytest.raises(DomainError) as refused:
            await pricing.set_customer_price(
                s,
                MANAGER,
                customer_id=acme,
                sku="SKU-A",
                unit_price=Decimal("1"),
                valid_from=datetime(2026, 1, 1),
            )
        assert [(p.field, p.code) for p in refused.value.problems] == [("validFrom", ErrorCode.INVALID)]
        shanghai = timezone(timedelta(hours=8))
        view = await pricing.set_customer_price(
            s, MANAGER, customer_id=acme, sku="SKU-A", unit_price=Decimal("1"),
            valid_from=datetime(2026, 1, 1, 8, tzinfo=shanghai),
        )  # fmt: skip
        assert view.row.valid_from == datetime(2026, 1, 1, tzinfo=UTC)
    assert await hub.count(CustomerPrice) == 1


async def test_every_problem_of_a_promotion_is_reported_at_once(hub: Hub) -> None:
    await hub.standard()
    data = pricing.PromotionInput(
        name=" ",
        kind=PromotionKind.SPEND_THRESHOLD,
        value=Decimal("-1"),
        threshold=None,
        buy_quantity=3,
        skus=["SKU-A", "NOPE"],
        customer_ids=[0],
        starts_at=datetime(2026, 1, 2, tzinfo=UTC),
        ends_at=datetime(2026, 1, 1, tzinfo=UTC),
        usage_limit_per_customer=0,
    )
    async with hub.db.write() as s:
        with pytest.raises(DomainError) as refused:
            await pricing.create_promotion(s, MANAGER, data)
    assert [(p.field, p.code.value) for p in refused.value.problems] == [
        ("name", "INVALID"), ("buyQuantity", "INVALID"), ("value", "INVALID"), ("threshold", "INVALID"),
        ("skus.1", "NOT_FOUND"), ("customerIds.0", "NOT_FOUND"), ("endsAt", "INVALID"),
        ("usageLimitPerCustomer", "INVALID"),
    ]  # fmt: skip


async def test_ending_a_promotion_that_has_not_started_keeps_a_valid_window(hub: Hub) -> None:
    await hub.standard()
    later = datetime.now(UTC) + timedelta(days=2)
    async with hub.db.write() as s:
        view = await pricing.create_promotion(
            s, MANAGER, pricing.PromotionInput(name="P", kind=PromotionKind.PERCENT_OFF, value=Decimal(5),
                                               starts_at=later, ends_at=later + timedelta(days=1)),
        )  # fmt: skip
        ended = await pricing.end_promotion(s, MANAGER, view.row.id)
        assert ended.row.starts_at is not None and ended.row.ends_at is not None
        assert ended.row.starts_at < ended.row.ends_at <= datetime.now(UTC)
        with pytest.raises(DomainError) as again:
            await pricing.end_promotion(s, MANAGER, view.row.id)
        assert again.value.problems[0].code == ErrorCode.INVALID_TRANSITION


@pytest.mark.parametrize("text", ["1e999999999", "-1e999999999", "1E+1000000"])
def test_an_amount_with_a_huge_exponent_is_invalid_not_an_overflow(text: str) -> None:
    # Decimal's abs() rounds to the context's exponent range and raised decimal.Overflow (a 500)
    with pytest.raises(DomainError) as refused:
        parse_amount(Decimal(text), "unitPrice")
    assert [(p.code, p.field) for p in refused.value.problems] == [(ErrorCode.INVALID, "unitPrice")]
