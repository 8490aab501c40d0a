"""The fast executor answers exactly as graphql-core does, whatever the variables."""

from __future__ import annotations

from tests.support import Hub

INLINE = "query($v: Boolean!) { products(first: 1) { edges { node { sku ... @include(if: $v) { name } } } } }"
SPREAD = (
    "query($v: Boolean!) { products(first: 1) { edges { node { sku ...F @skip(if: $v) } } } }"
    " fragment F on Product { name }"
)
FIELD = "query($v: Boolean!) { products(first: 1) { edges { node { sku name @include(if: $v) } } } }"


async def test_directives_on_fragments_follow_each_requests_variables(hub: Hub) -> None:
    # given a buyer and one product
    await hub.standard()
    for query, shown in ((INLINE, True), (SPREAD, False), (FIELD, True)):
        # when the same query text runs with the directive true and then false (and again)
        answers = [
            (await hub.data(query, {"v": v}, as_="acme"))["products"]["edges"][0]["node"]
            for v in (True, False, True, False)
        ]
        # then each answer follows its own variables, not the first request's
        with_name = {"sku": "SKU-A", "name": "Product SKU-A"}
        without = {"sku": "SKU-A"}
        expected = [with_name, without] * 2 if shown else [without, with_name] * 2
        assert answers == expected, query


async def test_aliases_and_typename_in_a_planned_subtree(hub: Hub) -> None:
    await hub.standard()
    data = await hub.data(
        "{ products(first: 1) { edges { node { __typename code: sku sku c: category { n: name } } } } }",
        as_="acme",
    )
    assert data["products"]["edges"][0]["node"] == {
        "__typename": "Product", "code": "SKU-A", "sku": "SKU-A", "c": {"n": "Valves"},
    }  # fmt: skip
