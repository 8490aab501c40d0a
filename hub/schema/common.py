"""Types and helpers shared by every area of the schema: Money, Error, ids, pages."""

from __future__ import annotations

import base64
import binascii
import functools
import weakref
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import strawberry
from graphql import GraphQLError, OperationDefinitionNode
from strawberry.types import Info
from strawberry.types.nodes import SelectedField, Selection

from hub.domain.errors import DomainError, Problem
from hub.domain.errors import ErrorCode as DomainErrorCode
from hub.domain.money import round_money
from hub.domain.pagination import Page
from hub.schema.context import Context

__all__ = [
    "Error",
    "ErrorCode",
    "Money",
    "PageInfo",
    "decode_id",
    "denied_as_null",
    "encode_id",
    "errors_of",
    "money",
    "wants",
]

ErrorCode = strawberry.enum(
    DomainErrorCode,
    name="ErrorCode",
    description="Why a mutation was refused. When `errors` is non-empty nothing was written.",
)

AppInfo = Info[Context, None]


@strawberry.type(description="An amount of money in one currency.")
class Money:
    amount: Decimal = strawberry.field(
        description='The amount as a decimal string with exactly 2 decimals, e.g. "1234.50".'
    )
    currency: str = strawberry.field(description="ISO 4217 currency code, e.g. CNY.")


def money(amount: Decimal, currency: str) -> Money:
    return Money(amount=round_money(amount), currency=currency)


@strawberry.type(description="One problem with a mutation's input or with what it asked for.")
class Error:
    field: str | None = strawberry.field(
        description="The input field at fault (dotted path, e.g. `lines.2.quantity`), or null."
    )
    code: ErrorCode = strawberry.field(description="A stable machine-readable code.")  # type: ignore[valid-type]
    message: str = strawberry.field(description="A human-readable explanation.")


def errors_of(error: DomainError | Iterable[Problem]) -> list[Error]:
    problems = error.problems if isinstance(error, DomainError) else error
    return [Error(field=p.field, code=p.code, message=p.message) for p in problems]


@strawberry.type(description="Where a page of a connection ends, and whether more follow.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="True when another page follows.")
    has_previous_page: bool = strawberry.field(
        description="Always false: pages are walked forwards with `after`."
    )
    start_cursor: str | None = strawberry.field(description="Cursor of the first edge.")
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last edge; pass it as `after` for the next page."
    )

    @classmethod
    def of(cls, edges: list[Any], page: Page[Any]) -> PageInfo:
        """The paging state of ``edges`` (each with a ``cursor``), a forward page."""
        return cls(
            has_next_page=page.has_next,
            has_previous_page=False,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=page.end_cursor,
        )


@functools.lru_cache(maxsize=65_536, typed=True)  # a catalog page encodes two ids per product
def encode_id(kind: str, pk: int) -> strawberry.ID:
    return strawberry.ID(base64.urlsafe_b64encode(f"{kind}:{pk}".encode()).decode().rstrip("="))


def decode_id(kind: str, value: str | None) -> int | None:
    """The primary key inside an opaque id of ``kind``; None for anything else."""
    if not value or len(value) > 64:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        prefix, _, pk = raw.partition(":")
        if prefix != kind or not pk.isdigit():
            return None
        number = int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return number if 0 < number < 2**31 else None  # ids are 32-bit INTEGER columns


def query_error(error: DomainError) -> GraphQLError:
    """A query argument problem (queries have no payload): a GraphQL error naming it."""
    return GraphQLError(
        error.problems[0].message,
        extensions={"code": error.problems[0].code.value, "field": error.problems[0].field},
    )


def denied_as_null(error: DomainError) -> None:
    """For a query field's ``except DomainError``: a refusal of the caller's role answers null
    (the domain decided; "a staff-only field answers null"); any other problem is the query's
    error (:func:`query_error`)."""
    if any(p.code == DomainErrorCode.PERMISSION_DENIED for p in error.problems):
        return None
    raise query_error(error) from None


def _fields(selections: Iterable[Selection]) -> Iterable[SelectedField]:
    """The fields of a selection set, looking through fragments (spread and inline)."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        else:
            yield from _fields(selection.selections)


def _wants(selected: list[Selection], path: tuple[str, ...]) -> bool:
    level: list[SelectedField] = list(_fields(selected))
    for name in path:
        level = [f for node in level for f in _fields(node.selections) if f.name == name]
        if not level:
            return False
    return True


# info.selected_fields converts the field's whole selection (arguments, directives, fragments)
# on each call, about 40 µs for a catalog page. The answer depends only on the parsed document
# (reused for identical query text by the parser cache) and the field's place in it, so it is
# kept per operation node, response path (list indices left out) and ``path``: with no
# interfaces or unions in the schema, a response path names one set of field nodes. An entry
# lives as long as its operation node (a weak reference removes it when the parser cache lets
# the document go), so the cache never keeps a document alive.
_Answers = dict[tuple[tuple[str, ...], tuple[str, ...]], bool]
_WANTS: dict[int, tuple[weakref.ref[OperationDefinitionNode], _Answers]] = {}


def _forget(node_id: int) -> Callable[[object], None]:
    def forget(_ref: object) -> None:
        _WANTS.pop(node_id, None)

    return forget


def wants(info: AppInfo, *path: str) -> bool:
    """True when the current field's selection contains ``path`` (e.g. "edges", "node", "price").

    Directives are not evaluated: a field under ``@skip``/``@include`` counts as wanted."""
    operation = info.operation
    entry = _WANTS.get(id(operation))
    if entry is None or entry[0]() is not operation:
        entry = (weakref.ref(operation, _forget(id(operation))), {})
        _WANTS[id(operation)] = entry
    key = (tuple(k for k in info.path.as_list() if isinstance(k, str)), path)
    found = entry[1].get(key)
    if found is None:
        found = entry[1][key] = _wants(info.selected_fields, path)
    return found
