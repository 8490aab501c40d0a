"""Input hygiene: a NUL (or another control character) in any string argument, as a literal or
in a variable, is refused with an INVALID GraphQL error naming where it was, before anything
executes. The arguments are enumerated from the schema itself, so new ones are covered."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
)
from graphql.pyutils import Undefined
from sqlalchemy import func, select

from hub.domain.models import Base
from hub.schema.build import build_schema
from tests.support import Hub

BAD = "a\x00b"
SCALARS: dict[str, Any] = {
    "String": "x",
    "ID": "x",
    "Int": 1,
    "Float": 1.0,
    "Boolean": False,
    "Decimal": "1.00",
    "DateTime": "2026-01-01T00:00:00+00:00",
}


def _required(t: GraphQLInputType) -> Any:
    """A value of type ``t`` with only what is required filled in."""
    if isinstance(t, GraphQLNonNull):
        return _required(t.of_type)
    if isinstance(t, GraphQLList):
        return [_required(t.of_type)]
    if isinstance(t, GraphQLInputObjectType):
        return {
            name: _required(f.type)
            for name, f in t.fields.items()
            if isinstance(f.type, GraphQLNonNull) and f.default_value is Undefined
        }
    if isinstance(t, GraphQLEnumType):
        return next(iter(t.values))
    assert isinstance(t, GraphQLScalarType)
    return SCALARS[t.name]


def _string_paths(t: GraphQLInputType, depth: int = 0) -> Iterator[tuple[Any, ...]]:
    """Every path (input field names, 0 for a list item) to a String or ID inside ``t``."""
    if isinstance(t, GraphQLNonNull):
        yield from _string_paths(t.of_type, depth)
    elif isinstance(t, GraphQLList):
        for p in _string_paths(t.of_type, depth):
            yield (0, *p)
    elif isinstance(t, GraphQLInputObjectType) and depth < 5:
        for name, f in t.fields.items():
            for p in _string_paths(f.type, depth + 1):
                yield (name, *p)
    elif isinstance(t, GraphQLScalarType) and t.name in ("String", "ID"):
        yield ()


def _with_bad(t: GraphQLInputType, path: tuple[Any, ...]) -> Any:
    """A value of type ``t``: what is required, plus BAD at ``path``."""
    if not path:
        return [BAD] if isinstance(get_nullable(t), GraphQLList) else BAD
    inner = get_nullable(t)
    if isinstance(inner, GraphQLList):
        return [_with_bad(inner.of_type, path[1:])]
    assert isinstance(inner, GraphQLInputObjectType)
    value = _required(inner)
    value[path[0]] = _with_bad(inner.fields[path[0]].type, path[1:])
    return value


def get_nullable(t: GraphQLInputType) -> GraphQLInputType:
    return t.of_type if isinstance(t, GraphQLNonNull) else t


def _literal(t: GraphQLInputType, value: Any) -> str:
    """``value`` of type ``t`` as a GraphQL literal."""
    t = get_nullable(t)
    if isinstance(t, GraphQLList):
        items = value if isinstance(value, list) else [value]
        return "[" + ", ".join(_literal(t.of_type, v) for v in items) + "]"
    if isinstance(t, GraphQLInputObjectType):
        return "{" + ", ".join(f"{k}: {_literal(t.fields[k].type, v)}" for k, v in value.items()) + "}"
    if isinstance(t, GraphQLEnumType):
        return str(value)
    return json.dumps(value)  # strings as "a\u0000b": GraphQL's escape


def _selection(field: GraphQLField) -> str:
    return " { __typename }" if isinstance(get_named_type(field.type), GraphQLObjectType) else ""


def cases() -> Iterator[tuple[str, str, str, dict[str, Any], str]]:
    """(description, literal document, variable document, variables, expected field path)."""
    schema = build_schema_for_tests()
    for op, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        assert root is not None
        for fname, field in root.fields.items():
            for aname, arg in field.args.items():
                for path in _string_paths(arg.type):
                    others = [
                        f"{n}: {_literal(a.type, _required(a.type))}"
                        for n, a in field.args.items()
                        if n != aname and isinstance(a.type, GraphQLNonNull) and a.default_value is Undefined
                    ]
                    bad = _with_bad(arg.type, path)
                    literal_args = ", ".join([f"{aname}: {_literal(arg.type, bad)}", *others])
                    variable_args = ", ".join([f"{aname}: $v", *others])
                    dotted = ".".join(str(p) for p in path)
                    where = ".".join(x for x in (aname, dotted) if x)
                    lit = f"{op} {{ {fname}({literal_args}){_selection(field)} }}"
                    var = f"{op} ($v: {arg.type}) {{ {fname}({variable_args}){_selection(field)} }}"
                    yield f"{fname}({where})", lit, var, {"v": bad}, f"{fname}.{where}"


def build_schema_for_tests() -> Any:
    from hub.settings import Settings

    settings = Settings(database_url="sqlite://", secret_key="x" * 40, redis_url=None)
    return build_schema(settings)._schema


async def _rows(hub: Hub) -> int:
    async with hub.db.read() as s:
        total = 0
        for table in Base.metadata.sorted_tables:
            total += int(await s.scalar(select(func.count()).select_from(table)) or 0)
        return total


def test_the_enumeration_covers_the_fields_the_issue_names() -> None:
    names = {c[0].split("(")[0] for c in cases()}
    wanted = {"tokenCreate", "product", "products", "customers", "integrationJobs", "orderCreate"}
    assert wanted <= names
    assert len(list(cases())) >= 40


async def test_a_nul_in_any_string_argument_is_refused_as_invalid(hub: Hub) -> None:
    # given the standard data and an admin (whose calls would otherwise reach the database)
    await hub.standard()
    before = await _rows(hub)
    problems = []
    for name, literal, variable, variables, where in cases():
        var_where = "$v" + "".join("." + p for p in where.split(".")[2:])
        for how, doc, vars_, field in (
            ("literal", literal, {}, where),
            ("variable", variable, variables, var_where),
        ):
            # when the operation is sent with a NUL in that argument
            response = await hub.post({"query": doc, "variables": vars_}, hub.seeded.tokens["admin"])
            # then it is answered (no 5xx) with an INVALID error naming the place, and nothing runs
            if response.status_code != 200:
                problems.append((name, how, response.status_code, response.text[:200]))
                continue
            body = response.json()
            errors = [e.get("extensions", {}) for e in body.get("errors") or []]
            wanted = {"code": "INVALID", "field": field}
            if (
                body.get("data") is not None
                or wanted not in errors
                or any(e.get("code") == "INTERNAL" for e in errors)
            ):
                problems.append((name, how, body))
    assert problems == []
    # and nothing was written
    assert await _rows(hub) == before


async def test_other_control_characters_and_lone_surrogates_are_refused_too(hub: Hub) -> None:
    await hub.standard()
    for search in ("a\x01b", "a\x1bb", "a\x0bb"):
        body = await hub.gql(
            "query($s: String) { products(search: $s) { totalCount } }", {"s": search}, as_="admin"
        )
        assert body["data"] is None
        assert body["errors"][0]["extensions"] == {"code": "INVALID", "field": "$s"}
    for escape in ("\\u{0}", "\\u001F", "\\u{7}"):
        body = await hub.gql(f'{{ products(search: "a{escape}") {{ totalCount }} }}', as_="admin")
        assert body["data"] is None
        assert body["errors"][0]["extensions"] == {"code": "INVALID", "field": "products.search"}
    # a lone surrogate is a syntax error in a literal, and not JSON in a variable
    body = await hub.gql('{ products(search: "a\\uD800") { totalCount } }', as_="admin")
    assert "Invalid Unicode escape sequence" in body["errors"][0]["message"]
    response = await hub.client.post(
        "/graphql",
        content=b'{"query": "query($s: String) { products(search: $s) { totalCount } }", "variables": {"s": "\\ud800"}}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400


async def test_a_nul_deep_in_a_nested_literal_is_named_by_its_path(hub: Hub) -> None:
    await hub.standard()
    body = await hub.gql(
        'mutation { orderCreate(input: {lines: [{sku: "SKU-A", quantity: 1}, {sku: "B\\u0000", quantity: 1}]})'
        " { errors { code } } }",
        as_="admin",
    )
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "INVALID", "field": "orderCreate.input.lines.1.sku"}


async def test_tabs_and_line_breaks_stay_legal_in_notes(hub: Hub) -> None:
    # given a customer buyer
    await hub.standard()
    # when it orders with a note of several lines and a tab
    data = await hub.data(
        'mutation($note: String) { orderCreate(input: {lines: [{sku: "SKU-A", quantity: 1}], note: $note})'
        " { errors { code } order { note } } }",
        {"note": "line one\r\nline two\tand a tab"},
        as_="acme",
    )
    # then the order keeps the note as written
    assert data["orderCreate"] == {"errors": [], "order": {"note": "line one\r\nline two\tand a tab"}}


async def test_a_nul_hidden_in_a_cursor_is_an_invalid_cursor(hub: Hub) -> None:
    # given cursors whose base64 hides a NUL (the GraphQL check sees only base64)
    import base64

    await hub.standard()
    for field, kind in (("products", "sku"), ("customers", "code")):
        cursor = base64.urlsafe_b64encode(f"{kind}:A\x00".encode()).decode().rstrip("=")
        # when a page after it is asked for
        body = await hub.gql(
            f'{{ {field}(after: "{cursor}") {{ pageInfo {{ hasNextPage }} }} }}', as_="admin"
        )
        # then it is refused as an invalid cursor, not a masked internal error
        assert body["data"] == {field: None} or body["data"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID"], body
