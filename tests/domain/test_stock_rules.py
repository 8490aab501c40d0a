"""The stock rules in Python (:mod:`hub.domain.inventory.rules`): availability is floored at zero;
allocation takes warehouses by priority, spills over, never goes below zero available and
reports shortages without allocating anything."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hub.domain.inventory.rules import Allocation, Shortage, allocate, available


def test_available_is_on_hand_less_reserved() -> None:
    assert available(10, 3) == 7
    assert available(5, 5) == 0


def test_available_is_floored_at_zero_when_on_hand_fell_below_reserved() -> None:
    assert available(2, 9) == 0
    assert available(0, 1) == 0


def test_allocation_takes_the_first_warehouse_by_priority_when_it_suffices() -> None:
    # given product 7 in two warehouses, listed by priority (stock 1 first)
    rows = [(1, 7, 10, 0), (2, 7, 10, 0)]
    # when 4 are demanded, then all come from the first
    assert allocate(rows, {7: 4}) == ([Allocation(1, 7, 4)], [])


def test_allocation_spills_over_to_the_next_warehouse() -> None:
    rows = [(1, 7, 10, 6), (2, 7, 10, 0)]  # 4 free in the first, 10 in the second
    assert allocate(rows, {7: 9}) == ([Allocation(1, 7, 4), Allocation(2, 7, 5)], [])


def test_allocation_skips_a_warehouse_with_nothing_available_and_never_goes_below_zero() -> None:
    # given a first warehouse in shortage (on hand below reserved) and an exactly-used one
    rows = [(1, 7, 1, 5), (2, 7, 3, 3), (3, 7, 8, 0)]
    # then nothing is taken from either, and the third covers it
    assert allocate(rows, {7: 8}) == ([Allocation(3, 7, 8)], [])


def test_a_shortage_allocates_nothing_for_any_product() -> None:
    # given product 7 coverable and product 8 short (3 available, shortage rows count as 0)
    rows = [(1, 7, 10, 0), (2, 8, 2, 0), (3, 8, 1, 4), (4, 8, 1, 0)]
    # then the shortage names what is available and nothing is allocated, not even product 7
    assert allocate(rows, {7: 5, 8: 4}) == ([], [Shortage(8, 4, 3)])


def test_every_short_product_is_reported_by_product_id() -> None:
    rows = [(1, 9, 1, 0)]
    assert allocate(rows, {9: 2, 3: 1}) == ([], [Shortage(3, 1, 0), Shortage(9, 2, 1)])


rows_of_one_product = st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), max_size=6).map(
    lambda cells: [(sid, 1, on_hand, reserved) for sid, (on_hand, reserved) in enumerate(cells, start=1)]
)


@given(rows=rows_of_one_product, wanted=st.integers(1, 120))
def test_allocation_covers_the_demand_exactly_within_each_row_or_reports_the_total(
    rows: list[tuple[int, int, int, int]], wanted: int
) -> None:
    allocations, shortages = allocate(rows, {1: wanted})
    free = {sid: available(on_hand, reserved) for sid, _, on_hand, reserved in rows}
    if sum(free.values()) < wanted:
        assert (allocations, shortages) == ([], [Shortage(1, wanted, sum(free.values()))])
        return
    assert shortages == []
    assert sum(a.quantity for a in allocations) == wanted
    assert all(0 < a.quantity <= free[a.stock_id] for a in allocations)
    # by priority: every row before the last one used is used up
    used = [a.stock_id for a in allocations]
    assert all(a.quantity == free[a.stock_id] for a in allocations[:-1])
    assert all(free[sid] == 0 for sid in free if sid < used[-1] and sid not in used)
