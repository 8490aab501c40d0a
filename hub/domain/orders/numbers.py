"""Order numbers: the one formatter and the one parser.

An order's number is what people quote on the phone and what the ERP and WMS carry as the hub's
reference: ``SO`` and the order id, zero-padded to at least eight digits (``SO00000042``; order
100,000,000 is ``SO100000000``). A split order's part pushed to one warehouse carries the
number and that warehouse's code: ``SO00000042-WH-SH``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MAX_ORDER_ID", "OrderReference", "format_order_number", "parse_order_reference", "part_reference"]

PREFIX = "SO"
WIDTH = 8
MAX_ORDER_ID = 2**31 - 1  # orders.id is a 32-bit integer
# ASCII digits only; the part is any warehouse code the hub accepts (hub.domain.validation.CODE_RE,
# "/" included), so every reference part_reference() makes parses back.
_REFERENCE = re.compile(rf"{PREFIX}([0-9]{{{WIDTH},}})(?:-([A-Za-z0-9][A-Za-z0-9._/-]{{0,63}}))?")


@dataclass(frozen=True, slots=True)
class OrderReference:
    """A parsed order number, and the warehouse code of a split order's part (or None)."""

    order_id: int
    part: str | None = None


def format_order_number(order_id: int) -> str:
    """``SO`` + the id, zero-padded to eight digits (more digits when the id needs them)."""
    return f"{PREFIX}{order_id:0{WIDTH}d}"


def part_reference(number: str, warehouse_code: str | None) -> str:
    """The reference of one warehouse's part of a split order (the number alone when whole)."""
    return f"{number}-{warehouse_code}" if warehouse_code else number


def parse_order_reference(text: str) -> OrderReference | None:
    """The order (and part) a reference names, or None when it is not one of ours: not
    ``SO`` + at least eight digits (+ ``-<warehouse code>``), or an id no order can have."""
    match = _REFERENCE.fullmatch(text)
    if match is None:
        return None
    digits = match.group(1).lstrip("0")
    if len(digits) > len(str(MAX_ORDER_ID)):  # also spares int() a huge string
        return None
    order_id = int(digits or "0")
    if not 0 < order_id <= MAX_ORDER_ID:
        return None
    return OrderReference(order_id, match.group(2))
