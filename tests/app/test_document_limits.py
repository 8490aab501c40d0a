"""Oversized GraphQL documents are refused before they are parsed or validated (issue 9, item 2)."""

from __future__ import annotations

from typing import Any

import pytest
import strawberry.schema.schema as strawberry_schema
from graphql import get_introspection_query

from tests.support import Hub


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts graphql-core validation runs (a spy on the library call strawberry makes)."""
    calls: list[int] = []
    real = strawberry_schema.validate

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(strawberry_schema, "validate", spy)
    return calls


def _error(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("data") is None, body
    assert len(body["errors"]) == 1, body
    return body["errors"][0]  # type: ignore[no-any-return]


async def test_the_oversized_document_is_refused_before_validation(hub: Hub, validations: list[int]) -> None:
    # given the 600 KB anonymous document of 40,000 repeated fields
    await hub.standard()
    query = "{ " + " ".join(["me { email }"] * 40_000) + " }"
    assert len(query) > 500_000
    # when it is posted without a token, and with a made-up one
    for token in (None, "made-up-token"):
        response = await hub.post({"query": query}, token)
        # then it is refused with a clear error naming the anonymous limit, never validated
        assert response.status_code == 200
        error = _error(response.json())
        assert error["extensions"] == {"code": "DOCUMENT_TOO_LARGE", "limit": 10_000}
        assert "10000 characters" in error["message"] and "anonymous" in error["message"]
    assert validations == []
    # and the signed-in limit refuses it too, also before validation
    body = await hub.gql(query, as_="acme")
    assert _error(body)["extensions"]["code"] == "DOCUMENT_TOO_LARGE"
    assert validations == []
    # while an authenticated normal query still works (and is validated)
    data = await hub.data("{ me { email roles } }", as_="acme")
    assert data["me"]["email"] == "acme@test.hub"
    assert validations == [1]


async def test_too_many_tokens_within_the_character_limit_are_refused(
    hub: Hub, validations: list[int]
) -> None:
    # given an anonymous document under 10,000 characters but over 1,000 tokens
    query = "{" + " ".join(["a"] * 1_500) + "}"
    assert len(query) < 10_000
    error = _error(await hub.gql(query))
    assert error["extensions"] == {"code": "DOCUMENT_TOO_LARGE", "limit": 1_000}
    assert "1000 tokens" in error["message"]
    # and so are a thousand comments
    error = _error(await hub.gql("#\n" * 1_200 + "{ me { email } }"))
    assert error["extensions"]["code"] == "DOCUMENT_TOO_LARGE"
    assert validations == []


async def test_a_document_just_under_the_anonymous_limits_is_fine(hub: Hub, validations: list[int]) -> None:
    # given an anonymous document of 10,000 characters and almost 1,000 tokens: a price quote
    # of 100 lines (an input object literal of 9 tokens a line)
    lines = ", ".join(f'{{sku: "SKU-{i}", quantity: {i + 1}}}' for i in range(100))
    query = f"{{ me {{ email }} priceQuote(lines: [{lines}]) {{ subtotal {{ amount }} }} }}"
    query += " " * (10_000 - len(query))
    assert len(query) == 10_000
    # when it runs, then it is parsed, validated and executed
    body = await hub.gql(query)
    assert body["data"] is not None, body
    assert "DOCUMENT_TOO_LARGE" not in str(body)
    assert validations == [1]


async def test_the_same_field_selected_over_and_over_is_refused_before_validation(
    hub: Hub, validations: list[int]
) -> None:
    # given a signed-in document that selects one deep field 50 times (1,225 pairs for
    # validation to compare), well under the token limit
    await hub.standard()
    deep = "me { customer { orders { edges { node { id } } } } }"
    body = await hub.gql("{ " + " ".join([deep] * 50) + " }", as_="acme")
    # then it is refused before validation, naming the limit
    error = _error(body)
    assert error["extensions"] == {"code": "DOCUMENT_TOO_LARGE", "limit": 1_000}
    assert validations == []
    # and through fragments too
    fragments = " ".join(f"fragment F{i} on Query {{ {deep} }}" for i in range(50))
    spreads = " ".join(f"...F{i}" for i in range(50))
    body = await hub.gql(f"{{ {spreads} }} {fragments}", as_="acme")
    assert _error(body)["extensions"]["code"] == "DOCUMENT_TOO_LARGE"
    assert validations == []
    # while ten fragments each selecting the same fields are fine
    fragments = " ".join(f"fragment F{i} on User {{ id email customer {{ id name }} }}" for i in range(10))
    spreads = " ".join(f"...F{i}" for i in range(10))
    data = await hub.data(f"{{ me {{ {spreads} }} }} {fragments}", as_="acme")
    assert data["me"]["email"] == "acme@test.hub"


async def test_graphiql_introspection_fits_the_anonymous_limits(hub: Hub) -> None:
    query = get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
    )
    data = await hub.data(query)
    assert data["__schema"]["queryType"]["name"] == "Query"


async def test_signed_in_callers_get_the_larger_limits(hub: Hub) -> None:
    # given a document over the anonymous bounds but under the signed-in ones
    await hub.standard()
    # (a quote of 300 lines: 2,700 tokens)
    lines = ", ".join('{sku: "SKU-A", quantity: 1}' for _ in range(300))
    query = f"{{ me {{ email }} priceQuote(lines: [{lines}]) {{ subtotal {{ amount }} }} }}"
    assert _error(await hub.gql(query))["extensions"] == {"code": "DOCUMENT_TOO_LARGE", "limit": 1_000}
    data = await hub.data(query, as_="acme")
    assert data["me"]["email"] == "acme@test.hub"
    assert data["priceQuote"]["subtotal"]["amount"] == "3750.00"
