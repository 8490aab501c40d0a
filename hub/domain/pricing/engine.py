"""The pricing engine: pure functions over plain values, no database.

Everything one customer's prices depend on is loaded once per catalog page or order into a
:class:`Rules` value (customer prices, the group's price lists, promotions, order-amount tiers and
how often the customer used each promotion). :func:`unit_price`, :func:`price_tiers` and
:func:`price_order` then answer without any I/O, so a catalog page of 100 products costs no
more queries than one of 10, and a quote, the catalog and an order all price through the same
function. The semantics are those of API.md "Pricing semantics"; docs/pricing.md explains them
with worked examples that ``tests/domain/test_pricing_examples.py`` runs against this module.

``AppliedRule.amount``, per kind (always 2 decimals, or None):

- ``BASE_PRICE``, ``GROUP_PRICE``, ``CUSTOMER_PRICE``: the unit price that source set;
- ``PROMOTION`` on a line (percent or amount off): what it took off **each unit**, the exact
  difference rounded half-up to 0.01 (so several amounts may differ by a cent from the total
  reduction, which is rounded once);
- ``PROMOTION`` on the order (满减) and ``ORDER_TIER``: what it took off the **order**;
- ``GIFT``: on a gift line, what each free unit would have cost the customer (its own unit price
  for that product); None on an order-level note that a gift could not be given at all.

All datetimes are timezone-aware; windows include their start and exclude their end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from hub.domain.errors import ErrorCode, Problem
from hub.domain.money import CENT, round_money
from hub.domain.pricing.values import (
    HUNDRED,
    LINE_KINDS,
    ZERO,
    AppliedRule,
    CustomerFacts,
    LineInput,
    OrderTier,
    PriceEntry,
    PriceResult,
    PriceSource,
    ProductFacts,
    Promotion,
    PromotionKind,
    RuleKind,
    Rules,
)

__all__ = [
    "AppliedRule",
    "CustomerFacts",
    "LineInput",
    "LinePrice",
    "OrderTier",
    "PriceEntry",
    "PriceResult",
    "PriceSource",
    "PriceTier",
    "PricedOrder",
    "ProductFacts",
    "Promotion",
    "PromotionKind",
    "RuleKind",
    "Rules",
    "check_quantity",
    "money_text",
    "price_order",
    "price_tiers",
    "spread",
    "unit_price",
]


def _choose(candidates: Sequence[Promotion]) -> list[Promotion]:
    """Of promotions that can apply (already in applying order): the first exclusive one alone
    if there is one, else all."""
    for p in candidates:
        if p.exclusive:
            return [p]
    return list(candidates)


# --- words ------------------------------------------------------------------------------------

_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "HKD": "HK$"}


def money_text(amount: Decimal, currency: str = "CNY") -> str:
    """``¥5,000.00``; currencies without a symbol here read ``CHF 5,000.00``."""
    symbol = _SYMBOLS.get(currency)
    text = f"{round_money(amount):,}"
    return f"{symbol}{text}" if symbol else f"{currency} {text}"


def _number(value: Decimal) -> str:
    """A plain number without needless decimals: ``5,000``, ``12.5``."""
    text = f"{value.normalize():,f}"
    return text


def _units(n: int) -> str:
    return f"{n:,} unit" if n == 1 else f"{n:,} units"


def _source_text(label: str, price: Decimal, min_quantity: int, currency: str) -> str:
    text = f"{label} {money_text(price, currency)}"
    return text if min_quantity <= 1 else f"{text} from {_units(min_quantity)}"


def _promotion_text(p: Promotion, currency: str) -> str:
    value = p.value if p.value is not None else ZERO
    if p.kind is PromotionKind.PERCENT_OFF:
        what = f"{_number(value)} % off"
    elif p.kind is PromotionKind.AMOUNT_OFF_PER_UNIT:
        what = f"{money_text(value, currency)} off each unit"
    elif p.kind is PromotionKind.SPEND_THRESHOLD:
        threshold = p.threshold if p.threshold is not None else ZERO
        what = f"满 {_number(threshold)} 减 {_number(value)}"
    else:
        what = f"buy {p.buy_quantity} get {p.get_quantity} free"
    return f"{p.name}: {what}"


# --- unit prices ------------------------------------------------------------------------------


def unit_price(product: ProductFacts, quantity: int, rules: Rules, at: datetime) -> PriceResult:
    """The customer's net unit price for ``quantity`` units at ``at`` (order-level rules aside).

    The source is the first that has an entry for the quantity: the customer's own price, then
    its group's price lists by priority then newest, then the base price. Line promotions that
    can apply (products, time, use limit, contract prices) follow: only the highest-priority
    exclusive one if any is exclusive, else all by priority, each on the unrounded result of the
    previous, never below 0. The result is rounded once, half-up to 0.01.
    """
    currency = rules.currency
    price, source, applied = _source_price(product, quantity, rules, at)
    ids: list[int] = []
    candidates = [
        p
        for p in rules.promotions_of(LINE_KINDS, at)
        if p.value is not None and p.for_products(product) and p.for_source(source)
    ]
    for p in _choose(candidates):
        value = p.value if p.value is not None else ZERO
        before = price
        if p.kind is PromotionKind.PERCENT_OFF:
            price = before * (HUNDRED - value) / HUNDRED
        else:
            price = before - value
        price = max(price, Decimal(0))
        applied.append(
            AppliedRule(RuleKind.PROMOTION, _promotion_text(p, currency), round_money(before - price))
        )
        ids.append(p.id)
    return PriceResult(round_money(price), tuple(applied), source, tuple(ids))


def _source_price(
    product: ProductFacts, quantity: int, rules: Rules, at: datetime
) -> tuple[Decimal, RuleKind, list[AppliedRule]]:
    for source in rules.ordered_sources:
        entry = source.entry(product.id, quantity, at)
        if entry is not None:
            price = max(entry.unit_price, Decimal(0))
            text = _source_text(source.label, price, entry.min_quantity, rules.currency)
            return price, source.kind, [AppliedRule(source.kind, text, round_money(price))]
    base = max(product.base_price, Decimal(0))
    text = f"Base price {money_text(base, rules.currency)}"
    return base, RuleKind.BASE_PRICE, [AppliedRule(RuleKind.BASE_PRICE, text, round_money(base))]


@dataclass(frozen=True, slots=True)
class PriceTier:
    """From ``min_quantity`` units on (until the next row), each unit costs ``unit_price``."""

    min_quantity: int
    unit_price: Decimal


def price_tiers(product: ProductFacts, rules: Rules, at: datetime) -> tuple[PriceTier, ...]:
    """One row per quantity at which the customer's unit price changes, ascending from
    ``max(1, min_order_quantity)``; each row's price is :func:`unit_price` at that quantity.

    The price can change only where an entry of some source starts, so only those quantities
    are tried. Rows are where the price changes, not necessarily orderable quantities: the order
    multiple still applies when ordering.
    """
    start = max(1, product.min_order_quantity)
    candidates = {start}
    for source in rules.ordered_sources:
        candidates.update(q for q in source.breaks(product.id, at) if q > start)
    rows: list[PriceTier] = []
    for q in sorted(candidates):
        price = unit_price(product, q, rules, at).unit_price
        if not rows or rows[-1].unit_price != price:
            rows.append(PriceTier(q, price))
    return tuple(rows)


def check_quantity(product: ProductFacts, quantity: int, index: int) -> Problem | None:
    """起订量 and 倍数: the SKU's merged ``quantity`` against its minimum and multiple."""
    field_name = f"lines.{index}.quantity"
    if quantity < product.min_order_quantity:
        return Problem(
            ErrorCode.BELOW_MINIMUM,
            f"{product.sku}: order at least {_units(product.min_order_quantity)} "
            f"(minimum order quantity); {quantity:,} is too few",
            field_name,
        )
    multiple = max(1, product.order_multiple)
    if quantity % multiple:
        lower = quantity // multiple * multiple
        options = [n for n in (lower, lower + multiple) if n >= max(1, product.min_order_quantity)]
        hint = " or ".join(f"{n:,}" for n in options)
        return Problem(
            ErrorCode.NOT_MULTIPLE,
            f"{product.sku} is sold in multiples of {multiple:,}; {quantity:,} is not one (try {hint})",
            field_name,
        )
    return None


# --- orders -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinePrice:
    """A priced line. Gift lines (``is_gift``) cost 0 and carry one ``GIFT`` rule; ``index`` is
    the position of the request line the line comes from (for a gift: of the line that earned
    it)."""

    sku: str
    product_id: int
    quantity: int
    unit_price: Decimal
    line_total: Decimal
    rules: tuple[AppliedRule, ...]
    index: int
    is_gift: bool = False
    order_discount_share: Decimal = ZERO
    source: RuleKind = RuleKind.BASE_PRICE


@dataclass(frozen=True, slots=True)
class PricedOrder:
    """What an order charges. ``problems`` are the MOQ / multiple refusals (their lines are not
    priced); ``used_promotions`` are the ids of the promotions that applied, one use each."""

    lines: tuple[LinePrice, ...]
    problems: tuple[Problem, ...]
    subtotal: Decimal
    order_rules: tuple[AppliedRule, ...]
    discount_total: Decimal
    total: Decimal
    used_promotions: frozenset[int]


def price_order(
    lines: Sequence[LineInput | None],
    products: Mapping[str, ProductFacts],
    rules: Rules,
    at: datetime,
    gift_stock: Mapping[str, int] | None = None,
) -> PricedOrder:
    """Price an order (or a quote: the same function) for the customer of ``rules`` at ``at``.

    Lines of one SKU are merged (problems name the first such line); SKUs missing from
    ``products`` and None entries (lines the caller refused; they keep the others' positions)
    are left out. ``products`` must also hold the gift
    SKUs of the customer's buy-X-get-Y promotions. ``gift_stock`` is the available quantity per
    gift SKU before this order; the order's own paid lines of that SKU come first and gifts get
    what is left (None: no limit).
    """
    merged: dict[str, int] = {}
    first: dict[str, int] = {}
    for i, line in enumerate(lines):
        if line is not None and line.sku in products:
            merged[line.sku] = merged.get(line.sku, 0) + line.quantity
            first.setdefault(line.sku, i)
    problems: list[Problem] = []
    paid: list[LinePrice] = []
    used: set[int] = set()
    for sku, quantity in merged.items():
        product = products[sku]
        problem = check_quantity(product, quantity, first[sku])
        if problem is not None:
            problems.append(problem)
            continue
        result = unit_price(product, quantity, rules, at)
        used.update(result.promotion_ids)
        paid.append(
            LinePrice(
                sku,
                product.id,
                quantity,
                result.unit_price,
                result.unit_price * quantity,
                result.rules,
                first[sku],
                source=result.source,
            )
        )
    gifts, notes = _gifts(paid, products, rules, at, gift_stock, used)
    subtotal = sum((x.line_total for x in paid), ZERO)
    order_rules, discount_total = _order_rules(paid, products, rules, at, subtotal, used)
    shares = spread(discount_total, [x.line_total for x in paid])
    priced = [
        LinePrice(x.sku, x.product_id, x.quantity, x.unit_price, x.line_total, x.rules, x.index,
                  order_discount_share=share, source=x.source)
        for x, share in zip(paid, shares, strict=True)
    ]  # fmt: skip
    return PricedOrder(
        lines=tuple(priced + gifts),
        problems=tuple(problems),
        subtotal=subtotal,
        order_rules=tuple(order_rules + notes),
        discount_total=discount_total,
        total=subtotal - discount_total,
        used_promotions=frozenset(used),
    )


def _gifts(
    paid: Sequence[LinePrice],
    products: Mapping[str, ProductFacts],
    rules: Rules,
    at: datetime,
    stock: Mapping[str, int] | None,
    used: set[int],
) -> tuple[list[LinePrice], list[AppliedRule]]:
    """买赠: gift lines for the paid lines, reduced to the stock left after the paid lines."""
    offers = [
        p
        for p in rules.promotions_of([PromotionKind.BUY_X_GET_Y], at)
        if (p.buy_quantity or 0) > 0 and (p.get_quantity or 0) > 0
    ]
    if not offers:
        return [], []
    taken: dict[str, int] = {}
    for x in paid:
        taken[x.sku] = taken.get(x.sku, 0) + x.quantity
    gifts: list[LinePrice] = []
    notes: list[AppliedRule] = []
    for x in paid:
        product = products[x.sku]
        chosen = _choose([p for p in offers if p.for_products(product) and p.for_source(x.source)])
        for p in chosen:
            due = x.quantity // (p.buy_quantity or 1) * (p.get_quantity or 0)
            if due <= 0:
                continue
            gift_sku = p.gift_sku or x.sku
            text = _promotion_text(p, rules.currency)
            gift = products.get(gift_sku)
            left = due if stock is None else max(0, stock.get(gift_sku, 0) - taken.get(gift_sku, 0))
            give = 0 if gift is None else min(due, left)
            if give <= 0:
                notes.append(
                    AppliedRule(
                        RuleKind.GIFT,
                        f"{text} — {_units(due)} of {gift_sku} due, none given: out of stock",
                    )
                )
                continue
            assert gift is not None
            taken[gift_sku] = taken.get(gift_sku, 0) + give
            worth = unit_price(gift, give, rules, at).unit_price
            if give < due:
                text = f"{text} — {_units(due)} due, {give:,} given: only {give:,} left in stock"
            gifts.append(
                LinePrice(gift_sku, gift.id, give, ZERO, ZERO,
                          (AppliedRule(RuleKind.GIFT, text, worth),), x.index, is_gift=True)
            )  # fmt: skip
            used.add(p.id)
    return gifts, notes


def _order_rules(
    paid: Sequence[LinePrice],
    products: Mapping[str, ProductFacts],
    rules: Rules,
    at: datetime,
    subtotal: Decimal,
    used: set[int],
) -> tuple[list[AppliedRule], Decimal]:
    """The order tier and 满减, each on the subtotal, rounded half-up; together never more than
    the subtotal (a rule that would overshoot takes only what is left)."""
    wanted: list[tuple[AppliedRule, int | None]] = []
    tiers = [t for t in rules.order_tiers if t.min_amount <= subtotal]
    if tiers and subtotal > 0:
        tier = max(tiers, key=lambda t: (t.min_amount, t.percent_off))
        text = f"Orders from {money_text(tier.min_amount, rules.currency)}: {_number(tier.percent_off)} % off"
        off = round_money(subtotal * tier.percent_off / HUNDRED)
        wanted.append((AppliedRule(RuleKind.ORDER_TIER, text, off), None))
    qualifying = []
    for p in rules.promotions_of([PromotionKind.SPEND_THRESHOLD], at):
        if p.value is None or p.threshold is None:
            continue
        matching = [x.line_total for x in paid if p.for_products(products[x.sku]) and p.for_source(x.source)]
        if matching and sum(matching, ZERO) >= p.threshold:  # at least one line in scope
            qualifying.append(p)
    for p in _choose(qualifying):
        off = round_money(p.value if p.value is not None else ZERO)
        wanted.append((AppliedRule(RuleKind.PROMOTION, _promotion_text(p, rules.currency), off), p.id))
    left = subtotal
    applied: list[AppliedRule] = []
    for rule, promotion_id in wanted:
        off = max(ZERO, min(rule.amount or ZERO, left))
        left -= off
        applied.append(AppliedRule(rule.kind, rule.description, off))
        if promotion_id is not None:
            used.add(promotion_id)
    return applied, subtotal - left


def spread(amount: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split ``amount`` (2 decimals, ≤ Σ weights) over ``weights`` in proportion, to the cent, by
    largest remainder (ties: earlier first): the parts sum to ``amount`` exactly and none exceeds
    its weight."""
    cents = int(amount / CENT)
    total = sum(weights, ZERO)
    if cents <= 0 or total <= 0:
        return [ZERO for _ in weights]
    scaled = [int(w / CENT) for w in weights]
    whole = sum(scaled)
    parts = [cents * w // whole for w in scaled]
    remainders = [cents * w % whole for w in scaled]
    short = cents - sum(parts)
    for i in sorted(range(len(parts)), key=lambda i: (-remainders[i], i))[:short]:
        parts[i] += 1
    return [Decimal(p) * CENT for p in parts]
