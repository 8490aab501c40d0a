"""Order numbers (:mod:`hub.domain.orders.numbers`): one formatter, one parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.domain.orders.numbers import (
    MAX_ORDER_ID,
    OrderReference,
    format_order_number,
    parse_order_reference,
    part_reference,
)
from hub.domain.validation import CODE_RE


def test_an_order_number_is_so_and_the_id_zero_padded_to_eight_digits() -> None:
    assert format_order_number(42) == "SO00000042"
    assert format_order_number(99_999_999) == "SO99999999"


def test_ids_of_nine_digits_and_more_get_more_digits() -> None:
    assert format_order_number(100_000_000) == "SO100000000"
    assert format_order_number(MAX_ORDER_ID) == "SO2147483647"
    assert parse_order_reference("SO100000000") == OrderReference(100_000_000)
    assert parse_order_reference("SO2147483647-WH-SH") == OrderReference(MAX_ORDER_ID, "WH-SH")
    assert parse_order_reference("SO00000042-WH/SH") == OrderReference(42, "WH/SH")


@given(
    order_id=st.integers(1, MAX_ORDER_ID),
    # every warehouse code the hub accepts (the codes parts are made of), "/" included
    part=st.one_of(st.none(), st.from_regex(CODE_RE, fullmatch=True)),
)
def test_format_and_parse_round_trip(order_id: int, part: str | None) -> None:
    number = format_order_number(order_id)
    assert parse_order_reference(number) == OrderReference(order_id)
    assert parse_order_reference(part_reference(number, part)) == OrderReference(order_id, part)


def test_a_whole_order_has_its_number_as_reference() -> None:
    assert part_reference("SO00000042", None) == "SO00000042"
    assert part_reference("SO00000042", "W1") == "SO00000042-W1"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "SO",
        "SO1234567",  # fewer than eight digits
        "so00000042",
        "XO00000042",
        " SO00000042",
        "SO00000042 ",
        "SO00000000",  # no order 0
        "SO2147483648",  # beyond a 32-bit id
        "SO99999999999999999999",
        "SO" + "9" * 5000,  # longer than int() parses
        "SO0000004a",
        "SO00000042-",  # a dash without a warehouse code
        "SO00000042-W 1",
        "SO-00000042",
        "SO+0000042",
        "SO٠٠٠٠٠٠٤٢",  # digits, but not ASCII ones
    ],
)
def test_malformed_references_are_not_ours(text: str) -> None:
    assert parse_order_reference(text) is None
