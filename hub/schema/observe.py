"""What the access log and the metrics learn from a GraphQL request: its operation's name, the
caller and its errors. The HTTP middleware (:mod:`hub.operations`) puts a :class:`RequestRecord`
in :data:`request_record_var`; :func:`note_operation` fills it in after the operation ran."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass

from strawberry.types import ExecutionContext

__all__ = ["RequestRecord", "note_operation", "request_record_var"]


@dataclass(slots=True)
class RequestRecord:
    """One request's facts, never its variables, headers or token."""

    ran: bool = False  # a GraphQL operation was parsed and run (or refused by validation)
    operation: str | None = None  # the operation's name as the client gave it; None: anonymous
    user_id: int | None = None  # the caller, once authenticated
    internal_errors: int = 0  # masked unexpected errors (code INTERNAL)
    graphql_errors: int = 0  # every other GraphQL error: syntax, validation, limits, arguments


request_record_var: contextvars.ContextVar[RequestRecord | None] = contextvars.ContextVar(
    "hub_request_record", default=None
)


def note_operation(ec: ExecutionContext) -> None:
    """Fill in the request's :class:`RequestRecord` once the operation ran (or failed to
    parse), after :func:`hub.schema.build.mask_unexpected_errors`, so it counts the errors
    as masked."""
    record = request_record_var.get()
    if record is None:
        return
    record.ran = True
    try:
        record.operation = ec.operation_name
    except Exception:  # noqa: BLE001 - a document that did not parse has no name
        record.operation = None
    principal = getattr(ec.context, "principal", None)
    record.user_id = getattr(principal, "user_id", None)
    errors = getattr(ec.result, "errors", None) or ec.pre_execution_errors or []
    if not errors and ec.graphql_document is None:
        record.graphql_errors += 1  # a syntax error, raised past the extension
    for error in errors:
        if (error.extensions or {}).get("code") == "INTERNAL":
            record.internal_errors += 1
        else:
            record.graphql_errors += 1
