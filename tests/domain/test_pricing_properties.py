"""Properties of the pricing engine (:mod:`hub.domain.pricing.engine`) over random rule sets:
prices are never negative, the most specific source wins, exclusive promotions never stack,
totals add up, discount shares sum exactly, the order charges what the catalog shows and
``priceTiers`` agrees with ``price(quantity)``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.domain.pricing.engine import (
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
    spread,
    unit_price,
)

AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
MOMENTS = [None, AT - timedelta(days=1), AT, AT + timedelta(days=1)]
SKUS = ["P1", "P2", "P3", "P4"]
CATEGORY_CHAINS = [(), (3,), (5, 3), (8,)]

money = st.decimals(min_value=0, max_value=999, places=2)
windows = st.tuples(st.sampled_from(MOMENTS), st.sampled_from(MOMENTS))


@st.composite
def products(draw: st.DrawFn) -> dict[str, ProductFacts]:
    return {
        sku: ProductFacts(
            id=i,
            sku=sku,
            base_price=draw(money),
            category_ids=draw(st.sampled_from(CATEGORY_CHAINS)),
            min_order_quantity=draw(st.integers(1, 4)),
            order_multiple=draw(st.sampled_from([1, 1, 2, 3])),
        )
        for i, sku in enumerate(SKUS, start=1)
    }


@st.composite
def sources(draw: st.DrawFn, kind: RuleKind, created: int) -> PriceSource:
    entries = draw(
        st.lists(
            st.builds(
                PriceEntry,
                product_id=st.integers(1, len(SKUS)),
                unit_price=money,
                min_quantity=st.integers(1, 20),
                valid_from=st.sampled_from(MOMENTS),
                valid_to=st.sampled_from(MOMENTS),
            ),
            max_size=6,
        )
    )
    start, end = draw(windows)
    return PriceSource(kind, f"{kind} {created}", tuple(entries), draw(st.integers(0, 2)), created,
                       start, end)  # fmt: skip


@st.composite
def promotions(draw: st.DrawFn, pid: int) -> Promotion:
    kind = draw(st.sampled_from(list(PromotionKind)))
    if kind is PromotionKind.PERCENT_OFF:
        value = draw(st.decimals(min_value=0, max_value=120, places=2))  # > 100 clamps at 0
    else:
        value = draw(st.decimals(min_value=0, max_value=300, places=2))
    start, end = draw(windows)
    return Promotion(
        id=pid,
        name=f"Promo {pid}",
        kind=kind,
        value=value,
        threshold=draw(st.decimals(min_value=0, max_value=3000, places=2)),
        buy_quantity=draw(st.integers(1, 6)),
        get_quantity=draw(st.integers(1, 3)),
        gift_sku=draw(st.sampled_from([None, *SKUS])),
        skus=frozenset(draw(st.lists(st.sampled_from(SKUS), max_size=2))),
        category_ids=frozenset(draw(st.lists(st.sampled_from([3, 5, 8]), max_size=1))),
        customer_group_ids=frozenset(draw(st.lists(st.integers(1, 2), max_size=1))),
        customer_ids=frozenset(draw(st.lists(st.integers(1, 2), max_size=1))),
        starts_at=start,
        ends_at=end,
        exclusive=draw(st.booleans()),
        priority=draw(st.integers(0, 2)),
        applies_to_contract_prices=draw(st.booleans()),
        usage_limit_per_customer=draw(st.sampled_from([None, 1, 2])),
        created=pid,
    )


@st.composite
def rule_sets(draw: st.DrawFn) -> Rules:
    customer = CustomerFacts(draw(st.sampled_from([None, 1, 2])), draw(st.sampled_from([None, 1, 2])))
    found = []
    if draw(st.booleans()):
        found.append(draw(sources(RuleKind.CUSTOMER_PRICE, 0)))
    for n in range(draw(st.integers(0, 3))):
        found.append(draw(sources(RuleKind.GROUP_PRICE, n + 1)))
    promos = tuple(draw(promotions(n)) for n in range(1, draw(st.integers(0, 5)) + 1))
    tiers = draw(
        st.lists(
            st.builds(OrderTier, st.decimals(min_value=0, max_value=5000, places=2),
                      st.decimals(min_value=0, max_value=100, places=2)),
            max_size=3,
        )
    )  # fmt: skip
    uses = draw(st.dictionaries(st.integers(1, 5), st.integers(0, 2), max_size=3))
    return Rules(customer, tuple(draw(st.permutations(found))), promos, tuple(tiers), uses)


order_lines = st.lists(
    st.builds(LineInput, st.sampled_from(SKUS), st.integers(1, 60)), min_size=1, max_size=6
)
stock = st.one_of(st.none(), st.dictionaries(st.sampled_from(SKUS), st.integers(0, 80)))


@dataclass(frozen=True)
class Case:
    products: dict[str, ProductFacts]
    rules: Rules
    lines: list[LineInput]
    stock: Mapping[str, int] | None


cases = st.builds(Case, products(), rule_sets(), order_lines, stock)


def _within(start: datetime | None, end: datetime | None) -> bool:
    return (start is None or start <= AT) and (end is None or AT < end)


def _expected_source(product: ProductFacts, quantity: int, rules: Rules) -> tuple[RuleKind, Decimal]:
    """The spec, written out by brute force: customer price, then group lists by priority then
    newest, then base; within a source the valid entry with the largest minQuantity ≤ q."""

    def best(source: PriceSource) -> PriceEntry | None:
        if not _within(source.valid_from, source.valid_to):
            return None
        fits = [
            e
            for e in source.entries
            if e.product_id == product.id and e.min_quantity <= quantity and _within(e.valid_from, e.valid_to)
        ]
        return max(fits, key=lambda e: e.min_quantity) if fits else None

    customer = [s for s in rules.sources if s.kind is RuleKind.CUSTOMER_PRICE]
    groups = sorted(
        (s for s in rules.sources if s.kind is RuleKind.GROUP_PRICE),
        key=lambda s: (s.priority, s.created),
        reverse=True,
    )
    for source in customer + groups:
        entry = best(source)
        if entry is not None:
            return source.kind, entry.unit_price
    return RuleKind.BASE_PRICE, product.base_price


def _applicable(p: Promotion, product: ProductFacts, rules: Rules, source: RuleKind) -> bool:
    c = rules.customer
    product_ok = (
        (not p.skus and not p.category_ids)
        or product.sku in p.skus
        or bool(p.category_ids & set(product.category_ids))
    )
    customer_ok = (not p.customer_ids and not p.customer_group_ids) or (
        c.id in p.customer_ids or c.group_id in p.customer_group_ids
    )
    used_up = p.usage_limit_per_customer is not None and (
        rules.promotion_uses.get(p.id, 0) >= p.usage_limit_per_customer
    )
    return (
        product_ok
        and customer_ok
        and not used_up
        and _within(p.starts_at, p.ends_at)
        and (source is not RuleKind.CUSTOMER_PRICE or p.applies_to_contract_prices)
    )


@settings(max_examples=100)
@given(cases)
def test_nothing_is_ever_negative_and_the_totals_add_up(case: Case) -> None:
    order = price_order(case.lines, case.products, case.rules, AT, case.stock)
    for line in order.lines:
        assert line.unit_price >= 0 and line.line_total >= 0 and line.order_discount_share >= 0
        assert line.line_total == line.unit_price * line.quantity
        assert all(r.amount is None or r.amount >= 0 for r in line.rules)
    assert all(r.amount is None or r.amount >= 0 for r in order.order_rules)
    assert order.subtotal == sum((x.line_total for x in order.lines), Decimal(0))
    assert order.discount_total == sum((r.amount or 0 for r in order.order_rules), Decimal(0))
    assert order.total == order.subtotal - order.discount_total
    assert 0 <= order.total <= order.subtotal


@settings(max_examples=100)
@given(cases)
def test_the_discount_shares_sum_exactly_and_none_exceeds_its_line(case: Case) -> None:
    order = price_order(case.lines, case.products, case.rules, AT, case.stock)
    assert sum((x.order_discount_share for x in order.lines), Decimal(0)) == order.discount_total
    for line in order.lines:
        assert line.order_discount_share <= line.line_total
        assert line.order_discount_share == line.order_discount_share.quantize(Decimal("0.01"))


@given(
    st.decimals(min_value=0, max_value=10_000, places=2),
    st.lists(st.decimals(min_value=0, max_value=10_000, places=2), min_size=1, max_size=8),
)
def test_spread_splits_to_the_cent_in_proportion(amount: Decimal, weights: list[Decimal]) -> None:
    amount = min(amount, sum(weights, Decimal(0)))
    parts = spread(amount, weights)
    total = sum(weights, Decimal(0))
    assert sum(parts, Decimal(0)) == (amount if total > 0 else 0)
    for part, weight in zip(parts, weights, strict=True):
        assert 0 <= part <= weight
        if total > 0:  # each part is its exact share rounded down or up by less than a cent
            assert abs(part - amount * weight / total) < Decimal("0.01")


@settings(max_examples=100)
@given(cases, st.integers(1, 40))
def test_the_most_specific_source_wins(case: Case, quantity: int) -> None:
    for product in case.products.values():
        result = unit_price(product, quantity, case.rules, AT)
        kind, price = _expected_source(product, quantity, case.rules)
        assert result.source is kind
        assert (result.rules[0].kind, result.rules[0].amount) == (kind, price)


@settings(max_examples=100)
@given(cases, st.integers(1, 40))
def test_exclusive_promotions_never_stack(case: Case, quantity: int) -> None:
    by_id = {p.id: p for p in case.rules.promotions}
    line_kinds = {PromotionKind.PERCENT_OFF, PromotionKind.AMOUNT_OFF_PER_UNIT}
    for product in case.products.values():
        result = unit_price(product, quantity, case.rules, AT)
        candidates = [
            p
            for p in case.rules.promotions
            if p.kind in line_kinds and _applicable(p, product, case.rules, result.source)
        ]
        exclusive = [p for p in candidates if p.exclusive]
        applied = [by_id[i] for i in result.promotion_ids]
        if exclusive:
            top = min(exclusive, key=lambda p: (-p.priority, p.created))
            assert applied == [top]
        else:
            assert sorted(p.id for p in applied) == sorted(p.id for p in candidates)
            assert [(-p.priority, p.created) for p in applied] == sorted(
                (-p.priority, p.created) for p in applied
            )
        assert len([r for r in result.rules if r.kind is RuleKind.PROMOTION]) == len(applied)
    order = price_order(case.lines, case.products, case.rules, AT, case.stock)
    spent = [by_id[i] for i in order.used_promotions if by_id[i].kind is PromotionKind.SPEND_THRESHOLD]
    if any(p.exclusive for p in spent):
        assert len(spent) == 1


@settings(max_examples=100)
@given(cases)
def test_the_order_charges_what_the_catalog_shows(case: Case) -> None:
    order = price_order(case.lines, case.products, case.rules, AT, case.stock)
    merged: dict[str, int] = {}
    for line in case.lines:
        merged[line.sku] = merged.get(line.sku, 0) + line.quantity
    paid = [x for x in order.lines if not x.is_gift]
    refused = {p.field for p in order.problems}
    assert len(paid) + len(refused) == len(merged)
    for x in paid:
        product = case.products[x.sku]
        assert x.quantity == merged[x.sku]
        assert x.quantity >= product.min_order_quantity and x.quantity % product.order_multiple == 0
        shown = unit_price(product, x.quantity, case.rules, AT)
        assert (x.unit_price, x.rules) == (shown.unit_price, shown.rules)


@settings(max_examples=100)
@given(cases)
def test_gifts_are_free_and_never_take_stock_the_order_does_not_have(case: Case) -> None:
    order = price_order(case.lines, case.products, case.rules, AT, case.stock)
    paid: dict[str, int] = {}
    given_: dict[str, int] = {}
    for x in order.lines:
        target = given_ if x.is_gift else paid
        target[x.sku] = target.get(x.sku, 0) + x.quantity
        if x.is_gift:
            assert x.unit_price == 0 and x.line_total == 0 and x.quantity > 0
            assert [r.kind for r in x.rules] == [RuleKind.GIFT]
    if case.stock is not None:
        for sku, n in given_.items():
            assert n <= max(0, case.stock.get(sku, 0) - paid.get(sku, 0))


@settings(max_examples=100)
@given(cases)
def test_price_tiers_agree_with_the_unit_price(case: Case) -> None:
    for product in case.products.values():
        tiers = price_tiers(product, case.rules, AT)
        start = max(1, product.min_order_quantity)
        assert tiers and tiers[0].min_quantity == start
        assert all(a.min_quantity < b.min_quantity for a, b in zip(tiers, tiers[1:], strict=False))
        assert all(a.unit_price != b.unit_price for a, b in zip(tiers, tiers[1:], strict=False))
        for q in range(start, 25):
            row = [t for t in tiers if t.min_quantity <= q][-1]
            assert row.unit_price == unit_price(product, q, case.rules, AT).unit_price
