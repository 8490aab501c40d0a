"""Money arithmetic: Decimal only, rounded half-up to the minor unit."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from hub.domain.errors import DomainError

__all__ = ["CENT", "MAX_AMOUNT", "parse_amount", "round_money"]

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")


def round_money(value: Decimal) -> Decimal:
    """Round half-up to two decimals (the minor unit of CNY, USD, EUR …)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_amount(value: Decimal | str | int, field: str, *, allow_negative: bool = False) -> Decimal:
    """Check an amount given by a client and return it with exactly two decimals.

    Raises:
        DomainError: INVALID when it is not a finite number, has more than two decimals,
            is negative (unless allowed) or exceeds 999,999,999,999.99.
    """
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise DomainError.invalid(f"{value!r} is not a number", field) from None
    if not amount.is_finite():
        raise DomainError.invalid("amount must be a finite number", field)
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:  # "12.500" too: the contract counts digits
        raise DomainError.invalid("amount may have at most 2 decimals", field)
    if amount < 0 and not allow_negative:
        raise DomainError.invalid("amount must not be negative", field)
    if amount.copy_abs() > MAX_AMOUNT:  # exact: abs() rounds to the context, overflowing on 1e999999999
        raise DomainError.invalid("amount must not exceed 999,999,999,999.99", field)
    return abs(amount).quantize(CENT) if amount.is_zero() else amount.quantize(CENT)  # no "-0.00"
