"""The price book of :mod:`hub.domain.pricing.services` with no rules loaded: the base price.
The engine's rules are tested in test_pricing_properties.py and test_pricing_examples.py."""

from __future__ import annotations

from decimal import Decimal

from hub.domain.pricing.services import AppliedRule, PriceBook, RuleKind


def test_the_base_price_is_the_price_rounded_half_up_to_the_minor_unit() -> None:
    book = PriceBook(customer_id=1)
    result = book.price(product_id=5, base_price=Decimal("10.005"), quantity=3)
    assert result.unit_price == Decimal("10.01")
    assert result.rules == (AppliedRule(RuleKind.BASE_PRICE, "Base price ¥10.01", Decimal("10.01")),)


def test_without_rules_the_price_does_not_depend_on_the_customer_or_quantity() -> None:
    prices = {
        PriceBook(customer_id=c).price(5, Decimal("3.333"), q).unit_price
        for c in (None, 1, 2)
        for q in (1, 1000)
    }
    assert prices == {Decimal("3.33")}


def test_an_applied_rule_as_stored_on_the_order_line() -> None:
    assert AppliedRule(RuleKind.BASE_PRICE, "Base price ¥12.50", Decimal("12.50")).as_dict() == {
        "kind": "BASE_PRICE",
        "description": "Base price ¥12.50",
        "amount": "12.50",
    }
