"""Building the GraphQL schema: the root types, the limits on queries, error masking and the
execution context. The ASGI app (:mod:`hub.app`) serves what :func:`build_schema` returns, and
``hub export-schema`` prints it, without either needing the other."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from functools import lru_cache
from typing import Any

import strawberry
from graphql import ASTValidationRule, ExecutionResult, GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from strawberry.extensions import SchemaExtension
from strawberry.extensions.max_aliases import create_validator as alias_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.schema.schema import validate_document
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from hub.schema import Mutation, Query
from hub.schema.cost import CostPlan, compile_cost
from hub.schema.document_limits import parse_within_limits
from hub.schema.execution import FastExecutionContext
from hub.schema.hygiene import UnsafeLiteralRule, refuse_unsafe_variables
from hub.schema.observe import note_operation
from hub.settings import Settings

__all__ = [
    "LIMIT_RULES",
    "MAX_ALIASES",
    "MAX_DEPTH",
    "RETRY_AFTER_SECONDS",
    "build_schema",
    "request_id_var",
]

log = logging.getLogger("hub.app")
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

MAX_DEPTH = 10
MAX_ALIASES = 30
# Built once: the validation cache is keyed by the rule classes, so they must not change
# from request to request (the limiter extensions make new classes per instance).
# UnsafeLiteralRule refuses string literals with NUL or control characters (hub/schema/hygiene.py).
LIMIT_RULES: list[type[ASTValidationRule]] = [
    depth_rule(MAX_DEPTH, None, None),
    alias_rule(MAX_ALIASES),
    UnsafeLiteralRule,
]


RETRY_AFTER_SECONDS = 1
"""What an ``UNAVAILABLE`` answer asks the client to wait (``extensions.retryAfter`` and the
HTTP ``Retry-After`` header, hub/app.py)."""
_QUERY_CANCELED = "57014"  # PostgreSQL: statement_timeout (or a cancel request) stopped it
_PLANS: OrderedDict[tuple[str, str | None], CostPlan] = OrderedDict()
_MAX_PLANS = 256


def unavailable_error() -> GraphQLError:
    """No database connection came free within the pool timeout: retry shortly."""
    return GraphQLError(
        "The service is busy: no database connection came free in time; retry shortly",
        extensions={"code": "UNAVAILABLE", "retryAfter": RETRY_AFTER_SECONDS},
    )


def timeout_error(what: str) -> GraphQLError:
    return GraphQLError(
        f"{what}; try again later, or ask for less (smaller pages, fewer fields)",
        extensions={"code": "TIMEOUT"},
    )


def _is_statement_timeout(error: BaseException) -> bool:
    if not isinstance(error, DBAPIError):
        return False
    orig = error.orig
    # asyncpg's error (the fast path) or SQLAlchemy's adaptation of it: both carry sqlstate.
    return getattr(orig, "sqlstate", None) == _QUERY_CANCELED or (
        getattr(getattr(orig, "__cause__", None), "sqlstate", None) == _QUERY_CANCELED
    )


def check_cost(ec: ExecutionContext, budget: int) -> None:
    """Answer an operation whose estimated cost (hub/schema/cost.py) is over ``budget`` with
    ``extensions: {code: QUERY_TOO_COSTLY, cost, budget}``, so that no resolver runs. The plan
    of a document is kept (by its text and operation name) for the next request."""
    document = ec.graphql_document
    if ec.result is not None or document is None:
        return
    key = (ec.query or "", ec.operation_name)
    plan = _PLANS.get(key)
    if plan is None:
        plan = compile_cost(ec.schema._schema, document, ec.operation_name)  # noqa: SLF001
        _PLANS[key] = plan
        if len(_PLANS) > _MAX_PLANS:
            _PLANS.popitem(last=False)
    cost = plan.evaluate(ec.variables)
    if cost > budget:
        ec.result = ExecutionResult(
            data=None,
            errors=[
                GraphQLError(
                    f"The operation's estimated cost is {cost}, over the budget of {budget}: ask "
                    "for smaller pages (first), fewer nested lists or fewer aliases",
                    extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "budget": budget},
                )
            ],
        )


def mask_unexpected_errors(ec: ExecutionContext) -> None:
    """Log unexpected exceptions with the request id; clients see only that id.

    GraphQL errors (syntax, validation, limits, argument problems) pass through unchanged. Two
    kinds of failure are the server's limits, not faults, and are said as such: an exhausted
    connection pool (``UNAVAILABLE``, retryable; the app answers HTTP 503 with ``Retry-After``)
    and a statement stopped by PostgreSQL's ``statement_timeout`` (``TIMEOUT``).
    """
    result = ec.result
    errors = getattr(result, "errors", None)
    if not errors:
        return
    masked = []
    for error in errors:
        original = error.original_error
        if original is None or isinstance(original, GraphQLError):
            masked.append(error)
            continue
        if isinstance(original, PoolTimeoutError):
            log.warning("connection pool exhausted (request id %s)", request_id_var.get())
            masked.append(_at(unavailable_error(), error))
            continue
        if _is_statement_timeout(original):
            log.warning("statement timeout (request id %s)", request_id_var.get())
            masked.append(_at(timeout_error("A database statement ran over its time limit"), error))
            continue
        rid = request_id_var.get()
        log.error(
            "unexpected error in %s (request id %s)",
            ".".join(str(p) for p in error.path or []) or "operation",
            rid,
            exc_info=original,
        )
        masked.append(
            GraphQLError(
                f"Internal error; quote request id {rid} to support",
                nodes=error.nodes,
                path=error.path,
                extensions={"code": "INTERNAL", "requestId": rid},
            )
        )
    result.errors = masked  # type: ignore[union-attr]


# Validation results by (schema, document, rules): documents are cached by the parse step
# (hub/schema/document_limits.py), so a repeated operation is validated once.
_validate = lru_cache(maxsize=256)(validate_document)


class HubRequest(SchemaExtension):
    """Everything the hub does around a GraphQL operation, in one extension (strawberry's own
    cost is per extension and per hook, paid by every request):

    - **operation**: adds the limit rules to validation; afterwards masks unexpected errors
      (:func:`mask_unexpected_errors`) and notes the operation for the access log and metrics
      (:func:`hub.schema.observe.note_operation`, which so counts errors as masked);
    - **parse**: refuses documents over the caller's size and token bounds, else parses them,
      cached (:func:`hub.schema.document_limits.parse_within_limits`);
    - **validate**: cached validation;
    - **execute**: refuses unsafe text in variables (:func:`hub.schema.hygiene.refuse_unsafe_variables`),
      then operations over the cost budget (:func:`check_cost`), and bounds a query operation's
      execution to ``HUB_REQUEST_TIMEOUT_MS``: past it the operation is cancelled and answers one
      ``TIMEOUT`` error. Mutations are not cancelled half way (a client could not tell whether its
      change was committed); PostgreSQL's statement timeout bounds each of their statements.
    """

    def __init__(self, settings: Settings, rules: tuple[type[ASTValidationRule], ...]) -> None:
        self.settings = settings
        self.rules = rules
        self.deadline = settings.request_timeout_ms / 1000

    def on_operation(self) -> Iterator[None]:
        ec = self.execution_context
        ec.validation_rules = ec.validation_rules + self.rules
        try:
            yield
            mask_unexpected_errors(ec)
        finally:  # also when parsing failed: strawberry leaves the operation by an exception
            note_operation(ec)

    def on_parse(self) -> Iterator[None]:
        parse_within_limits(self.execution_context, self.settings)
        yield

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        assert ec.graphql_document is not None  # parsed by on_parse
        ec.pre_execution_errors = _validate(ec.schema._schema, ec.graphql_document, ec.validation_rules)  # noqa: SLF001
        yield

    async def on_execute(self) -> AsyncIterator[None]:
        ec = self.execution_context
        refuse_unsafe_variables(ec)
        check_cost(ec, self.settings.max_query_cost)
        if ec.result is not None or not self.deadline or ec.operation_type is not OperationType.QUERY:
            yield
            return
        try:
            async with asyncio.timeout(self.deadline):
                yield
        except TimeoutError:
            # Raised out of strawberry's executing() block: it becomes the answer's one error.
            raise timeout_error(
                f"The operation did not finish within the request time limit of {self.deadline:g} s"
            ) from None


def _at(new: GraphQLError, where: GraphQLError) -> GraphQLError:
    """``new`` at ``where``'s place in the document and the answer."""
    return GraphQLError(new.message, nodes=where.nodes, path=where.path, extensions=new.extensions)


class HubSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Unexpected errors are logged by mask_unexpected_errors; the rest are the client's.
        return None


def build_schema(settings: Settings) -> strawberry.Schema:
    rules = tuple(LIMIT_RULES)
    if not settings.introspection:
        rules += (NoSchemaIntrospectionCustomRule,)
    extensions: list[Any] = [lambda: HubRequest(settings, rules)]
    return HubSchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        # The fast path is fenced (see hub/schema/execution.py); None is strawberry's own.
        execution_context_class=FastExecutionContext if settings.fast_execution else None,
    )
