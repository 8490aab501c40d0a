"""HTTP and GraphQL limits: bad bodies, depth, aliases, page size, masking, request ids."""

from __future__ import annotations

import logging

import pytest

from hub.app import MAX_ALIASES, MAX_DEPTH
from tests.support import Hub


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'"a string"', b"{}", b'{"query": null}', b'{"variables": {}}'],
)
async def test_a_malformed_body_gets_http_400(hub: Hub, body: bytes) -> None:
    # when a body that is not a GraphQL request is posted
    response = await hub.client.post("/graphql", content=body, headers={"content-type": "application/json"})
    # then it is refused as a bad request, never a 5xx
    assert response.status_code == 400, response.text


async def test_a_body_over_the_limit_gets_http_413(hub: Hub) -> None:
    # given a body over HUB_MAX_BODY_BYTES
    padding = "x" * (hub.settings.max_body_bytes + 10)
    # when it is posted
    response = await hub.client.post("/graphql", json={"query": "{ me { email } }", "x": padding})
    # then it is refused before it is parsed
    assert response.status_code == 413
    assert "x-request-id" in response.headers


async def test_syntax_errors_are_graphql_errors(hub: Hub) -> None:
    body = await hub.gql("{ products(first: ")
    assert body["data"] is None
    assert "Syntax Error" in body["errors"][0]["message"]


def _nested(depth: int) -> str:
    # me -> customer -> orders -> edges -> node -> customer -> orders -> ... grows the depth
    inner = "id"
    levels = 0
    while levels < depth:
        inner = f"customer {{ orders {{ edges {{ node {{ {inner} }} }} }} }}"
        levels += 4
    return "{ me { " + inner + " } }"


async def test_a_query_deeper_than_the_limit_is_refused(hub: Hub) -> None:
    # given a query nested deeper than 10 levels
    query = _nested(MAX_DEPTH + 2)
    # when it runs
    body = await hub.gql(query)
    # then it is refused before execution with an error naming the limit
    assert body.get("data") is None
    assert "exceeds maximum operation depth of 10" in body["errors"][0]["message"]


async def test_introspection_does_not_count_towards_the_depth_limit(hub: Hub) -> None:
    query = "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { name } } } } } } } } }"
    body = await hub.gql(query)
    assert "errors" not in body


async def test_more_than_30_aliases_are_refused(hub: Hub) -> None:
    # given 31 aliases of `me`
    query = "{ " + " ".join(f"a{i}: me {{ email }}" for i in range(MAX_ALIASES + 1)) + " }"
    # when it runs
    body = await hub.gql(query)
    # then it is refused
    assert body.get("data") is None
    assert "30" in body["errors"][0]["message"]


async def test_30_aliases_are_allowed(hub: Hub) -> None:
    query = "{ " + " ".join(f"a{i}: me {{ email }}" for i in range(MAX_ALIASES)) + " }"
    body = await hub.gql(query)
    assert "errors" not in body


async def test_first_above_100_names_the_limit(hub: Hub) -> None:
    await hub.standard()
    body = await hub.gql("{ products(first: 101) { edges { node { sku } } } }", as_="acme")
    assert body["data"] == {"products": None}
    assert body["errors"][0]["message"] == "first must not exceed 100"


async def test_unexpected_errors_are_masked_and_logged_with_the_request_id(
    hub: Hub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # given a domain service that fails unexpectedly
    await hub.standard()
    import hub.schema.catalog.queries as queries

    async def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("secret database detail")

    monkeypatch.setattr(queries, "list_products", boom)
    # when a client calls it
    with caplog.at_level(logging.ERROR, logger="hub.app"):
        response = await hub.post(
            {"query": "{ products { edges { node { sku } } } }"}, hub.seeded.tokens["acme"]
        )
    # then it sees a masked error carrying the request id, and the log has the detail
    assert response.status_code == 200
    rid = response.headers["x-request-id"]
    error = response.json()["errors"][0]
    assert error["message"] == f"Internal error; quote request id {rid} to support"
    assert "secret database detail" not in response.text
    assert any(rid in r.getMessage() and r.exc_info for r in caplog.records)


async def test_graphiql_is_served_on_get_when_enabled(hub: Hub) -> None:
    response = await hub.client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_health(hub: Hub) -> None:
    response = await hub.client.get("/healthz")
    assert response.json() == {"status": "ok"}


async def test_a_chunked_body_over_the_limit_gets_http_413(hub: Hub) -> None:
    # given a body sent in chunks, without a Content-Length
    chunk = b"x" * 4096

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(hub.settings.max_body_bytes // len(chunk) + 2):
            yield chunk

    # when it is posted, then it is refused with 413 (not a crash)
    response = await hub.client.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


async def test_nul_characters_are_refused_before_they_reach_the_database(hub: Hub) -> None:
    # anonymous, even: tokenCreate with a NUL in the email (GraphQL's \u{0} escape)
    body = await hub.gql('mutation { tokenCreate(email: "a\\u{0}@x.com", password: "p") { token } }')
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "INVALID", "field": "tokenCreate.email"}
    body = await hub.gql("query($s: String) { products(search: $s) { totalCount } }", {"s": "a\u0000b"})
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "INVALID", "field": "$s"}


async def test_ids_and_cursors_beyond_the_id_range_are_not_found(hub: Hub) -> None:
    # given ids and cursors that decode to numbers beyond a 32-bit id column
    import base64

    from hub.domain.pagination import encode_cursor

    await hub.standard()
    big_order = base64.urlsafe_b64encode(b"Order:3000000000").decode().rstrip("=")
    # when they are used, then they answer as for a missing object, never an internal error
    assert await hub.data(f'{{ order(id: "{big_order}") {{ id }} }}', as_="acme") == {"order": None}
    data = await hub.data(
        f'mutation {{ orderCancel(id: "{big_order}") {{ errors {{ code }} }} }}', as_="acme"
    )
    assert data == {"orderCancel": {"errors": [{"code": "NOT_FOUND"}]}}
    body = await hub.gql(
        f'{{ orders(after: "{encode_cursor("order", 10**20)}") {{ edges {{ node {{ id }} }} }} }}', as_="acme"
    )
    assert body["data"] == {"orders": None}
    assert body["errors"][0]["message"] == "after is not a valid cursor"
