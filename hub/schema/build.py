"""Building the GraphQL schema: the root types, the limits on queries, error masking and the
execution context. The ASGI app (:mod:`hub.app`) serves what :func:`build_schema` returns, and
``hub export-schema`` prints it, without either needing the other."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as alias_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.types import ExecutionContext

from hub.schema import Mutation, Query
from hub.schema.document_limits import document_limits
from hub.schema.execution import FastExecutionContext
from hub.schema.hygiene import RefuseUnsafeVariables, UnsafeLiteralRule
from hub.schema.observe import RecordOperation
from hub.settings import Settings

__all__ = ["LIMIT_RULES", "MAX_ALIASES", "MAX_DEPTH", "build_schema", "request_id_var"]

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


class MaskUnexpectedErrors(SchemaExtension):
    """Log unexpected exceptions with the request id; clients see only that id.

    GraphQL errors (syntax, validation, limits, argument problems) pass through unchanged.
    """

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if not errors:
            return
        masked = []
        for error in errors:
            original = error.original_error
            if original is None or isinstance(original, GraphQLError):
                masked.append(error)
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


class HubSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Unexpected errors are logged by MaskUnexpectedErrors; the rest are the client's.
        return None


def build_schema(settings: Settings) -> strawberry.Schema:
    extensions: list[Any] = [
        document_limits(settings),  # size and token bounds before parsing; caches the parse
        lambda: AddValidationRules(LIMIT_RULES),
        lambda: ValidationCache(maxsize=256),
        RecordOperation,  # before the masking: it counts the errors as masked
        RefuseUnsafeVariables,  # string variables: the literals are UnsafeLiteralRule's
        MaskUnexpectedErrors,
    ]
    if not settings.introspection:
        extensions.append(DisableIntrospection)
    return HubSchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        # The fast path is fenced (see hub/schema/execution.py); None is strawberry's own.
        execution_context_class=FastExecutionContext if settings.fast_execution else None,
    )
