"""The worked examples of docs/pricing.md, run against the engine: every fenced block whose info
string is ``json example`` is one case (its format is described in the page, "Reading the
examples"), so the page and :mod:`hub.domain.pricing.engine` cannot disagree."""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hub.domain.pricing.engine import (
    AppliedRule,
    CustomerFacts,
    LineInput,
    OrderTier,
    PriceEntry,
    PriceSource,
    ProductFacts,
    Promotion,
    PromotionKind,
    RuleKind,
    Rules,
    price_order,
    price_tiers,
    unit_price,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "pricing.md"
BLOCK = re.compile(r"^```json example\n(.*?)^```", re.DOTALL | re.MULTILINE)
DEFAULT_AT = "2026-12-01T10:00:00+08:00"


def _examples() -> list[dict[str, Any]]:
    found = [json.loads(m.group(1)) for m in BLOCK.finditer(DOC.read_text(encoding="utf-8"))]
    assert len(found) >= 8, "docs/pricing.md lost its worked examples"
    return found


def _when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _setup(case: dict[str, Any]) -> tuple[dict[str, ProductFacts], Rules, datetime]:
    products = {
        p["sku"]: ProductFacts(
            id=i,
            sku=p["sku"],
            base_price=Decimal(p["base"]),
            category_ids=tuple(p.get("categories", ())),
            min_order_quantity=p.get("moq", 1),
            order_multiple=p.get("multiple", 1),
        )
        for i, p in enumerate(case["products"], start=1)
    }

    def entry(x: dict[str, Any]) -> PriceEntry:
        return PriceEntry(
            products[x["sku"]].id,
            Decimal(x["price"]),
            x.get("from", 1),
            _when(x.get("validFrom")),
            _when(x.get("validTo")),
        )

    sources = []
    if case.get("customerPrices"):
        sources.append(
            PriceSource(RuleKind.CUSTOMER_PRICE, "Contract price",
                        tuple(entry(x) for x in case["customerPrices"]))
        )  # fmt: skip
    for n, pl in enumerate(case.get("priceLists", ()), start=1):
        sources.append(
            PriceSource(
                RuleKind.GROUP_PRICE,
                f"Price list {pl['code']}",
                tuple(entry(x) for x in pl["items"]),
                priority=pl.get("priority", 0),
                created=pl.get("created", n),
                valid_from=_when(pl.get("validFrom")),
                valid_to=_when(pl.get("validTo")),
            )
        )
    promotions = tuple(
        Promotion(
            id=x.get("id", n),
            name=x["name"],
            kind=PromotionKind(x["kind"]),
            value=None if x.get("value") is None else Decimal(x["value"]),
            threshold=None if x.get("threshold") is None else Decimal(x["threshold"]),
            buy_quantity=x.get("buyQuantity"),
            get_quantity=x.get("getQuantity"),
            gift_sku=x.get("giftSku"),
            skus=frozenset(x.get("skus", ())),
            category_ids=frozenset(x.get("categoryIds", ())),
            customer_group_ids=frozenset(x.get("customerGroupIds", ())),
            customer_ids=frozenset(x.get("customerIds", ())),
            starts_at=_when(x.get("startsAt")),
            ends_at=_when(x.get("endsAt")),
            exclusive=x.get("exclusive", False),
            priority=x.get("priority", 0),
            applies_to_contract_prices=x.get("appliesToContractPrices", False),
            usage_limit_per_customer=x.get("usageLimitPerCustomer"),
            created=x.get("created", n),
        )
        for n, x in enumerate(case.get("promotions", ()), start=1)
    )
    customer = case.get("customer", {})
    rules = Rules(
        customer=CustomerFacts(customer.get("id"), customer.get("group")),
        sources=tuple(sources),
        promotions=promotions,
        order_tiers=tuple(
            OrderTier(Decimal(t["minAmount"]), Decimal(t["percentOff"])) for t in case.get("tiers", ())
        ),
        promotion_uses={int(k): v for k, v in case.get("uses", {}).items()},
    )
    at = datetime.fromisoformat(case.get("at", DEFAULT_AT))
    return products, rules, at


def _rule(text: str) -> AppliedRule:
    """``"KIND amount description"``; amount ``-`` for none."""
    kind, amount, description = text.split(" ", 2)
    return AppliedRule(RuleKind(kind), description, None if amount == "-" else Decimal(amount))


@pytest.mark.parametrize("case", _examples(), ids=lambda c: str(c["name"]))
def test_the_worked_example_of_docs_pricing_md(case: dict[str, Any]) -> None:
    products, rules, at = _setup(case)
    lines = [LineInput(sku, quantity) for sku, quantity in case["order"]]
    order = price_order(lines, products, rules, at, case.get("stock"))
    expect = case["expect"]
    got_lines = [
        {
            "sku": x.sku,
            "quantity": x.quantity,
            "unitPrice": str(x.unit_price),
            "lineTotal": str(x.line_total),
            **({"gift": True} if x.is_gift else {}),
            **({"share": str(x.order_discount_share)} if x.order_discount_share else {}),
            "rules": x.rules,
        }
        for x in order.lines
    ]
    want_lines = [{**x, "rules": tuple(map(_rule, x["rules"]))} for x in expect.get("lines", ())]
    assert got_lines == want_lines
    assert order.order_rules == tuple(map(_rule, expect.get("orderRules", ())))
    assert [(p.code.value, p.field, p.message) for p in order.problems] == [
        tuple(e) for e in expect.get("errors", ())
    ]
    assert str(order.subtotal) == expect["subtotal"]
    assert str(order.discount_total) == expect.get("discountTotal", "0.00")
    assert str(order.total) == expect["total"]
    # what a catalog page shows for the same quantity is what the order charged
    for x in order.lines:
        if not x.is_gift:
            assert unit_price(products[x.sku], x.quantity, rules, at).unit_price == x.unit_price
    for sku, rows in expect.get("priceTiers", {}).items():
        got = [[t.min_quantity, str(t.unit_price)] for t in price_tiers(products[sku], rules, at)]
        assert got == rows
