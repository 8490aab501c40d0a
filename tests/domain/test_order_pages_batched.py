"""``list_orders_of_customers`` and ``count_orders_of_customers`` (hub/domain/orders/queries.py)
answer for each customer exactly what ``list_orders``/``count_orders`` answer for it, under the
same visibility rule, in a fixed number of statements."""

from __future__ import annotations

import pytest

from hub.domain.auth.models import Role
from hub.domain.auth.principal import Principal
from hub.domain.errors import DomainError
from hub.domain.orders.models import OrderStatus
from hub.domain.orders.queries import (
    count_orders,
    count_orders_of_customers,
    list_orders,
    list_orders_of_customers,
)
from tests.app.test_query_cost import add_orders
from tests.support import Hub, count_statements

ADMIN = Principal(1, "admin@test.hub", frozenset({Role.ADMIN}))


async def _seed(hub: Hub) -> list[int]:
    await hub.standard()
    for code, n in (("C1", 9), ("C2", 1), ("C3", 0), ("C4", 5)):
        await hub.add_customer(code)
        await add_orders(hub, code, n)
    await add_orders(hub, "ACME", 3)
    return [hub.seeded.customers[c] for c in ("C1", "C2", "C3", "C4", "ACME")]


def _ids(page: object) -> tuple[list[int], bool, str | None]:
    return [o.id for o in page.items], page.has_next, page.end_cursor  # type: ignore[attr-defined]


@pytest.mark.parametrize("first", [0, 1, 2, 20])
async def test_each_customers_page_is_its_list_orders_page(hub: Hub, first: int) -> None:
    ids = await _seed(hub)
    async with hub.db.read() as s:
        for status in (None, OrderStatus.APPROVED):
            pages = await list_orders_of_customers(s, ADMIN, ids, first=first, status=status)
            counts = await count_orders_of_customers(s, ADMIN, ids, status=status)
            for c in ids:
                one = await list_orders(s, ADMIN, first=first, status=status, customer_id=c)
                assert _ids(pages[c]) == _ids(one)
                assert counts[c] == await count_orders(s, ADMIN, status=status, customer_id=c)
                # and the next page after the same cursor
                if one.has_next:
                    after = await list_orders_of_customers(
                        s, ADMIN, [c], first=first, after=one.end_cursor, status=status
                    )
                    assert _ids(after[c]) == _ids(
                        await list_orders(
                            s, ADMIN, first=first, after=one.end_cursor, status=status, customer_id=c
                        )
                    )


async def test_a_customer_user_gets_only_its_own_customer(hub: Hub) -> None:
    ids = await _seed(hub)
    acme = hub.seeded.customers["ACME"]
    buyer = Principal(hub.seeded.users["acme"], "acme@test.hub", frozenset({Role.CUSTOMER}), acme)
    async with hub.db.read() as s:
        pages = await list_orders_of_customers(s, buyer, ids)
        counts = await count_orders_of_customers(s, buyer, ids)
        with pytest.raises(DomainError):  # what list_orders says for another customer
            await list_orders(s, buyer, customer_id=hub.seeded.customers["C1"])
    assert set(pages) == set(counts) == {acme}
    assert len(pages[acme].items) == counts[acme] == 3


async def test_one_read_for_any_number_of_customers(hub: Hub) -> None:
    ids = await _seed(hub)
    seen_counts = []
    for some in (ids[:1], ids):
        async with hub.db.read() as s:
            with count_statements(hub.db.engine) as seen:
                await list_orders_of_customers(s, ADMIN, some, first=3)
                await count_orders_of_customers(s, ADMIN, some)
        seen_counts.append(len([sql for sql in seen if sql != "BEGIN"]))
    assert seen_counts == [5, 5]  # orders, lines, steps, events; the counts


async def test_bad_first_and_cursor_are_refused_as_list_orders_refuses_them(hub: Hub) -> None:
    ids = await _seed(hub)
    async with hub.db.read() as s:
        for kwargs in ({"first": 101}, {"first": -1}, {"after": "bm9wZTox"}):
            with pytest.raises(DomainError) as batched:
                await list_orders_of_customers(s, ADMIN, ids, **kwargs)  # type: ignore[arg-type]
            with pytest.raises(DomainError) as single:
                await list_orders(s, ADMIN, **kwargs)  # type: ignore[arg-type]
            assert batched.value.problems == single.value.problems
