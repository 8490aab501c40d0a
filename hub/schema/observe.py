"""What the access log and the metrics learn from a GraphQL request: its operation's name, the
caller and its errors. The HTTP middleware (:mod:`hub.operations`) puts a :class:`RequestRecord`
in :data:`request_record_var`; :class:`RecordOperation` fills it in after the operation ran."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from dataclasses import dataclass

from strawberry.extensions import SchemaExtension

__all__ = ["RecordOperation", "RequestRecord", "request_record_var"]


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


class RecordOperation(SchemaExtension):
    """Listed before :class:`~hub.schema.build.MaskUnexpectedErrors`, so it sees the errors
    as masked."""

    def on_operation(self) -> Iterator[None]:
        try:
            yield
        finally:  # also when parsing failed: strawberry leaves the operation by an exception
            self._note()

    def _note(self) -> None:
        record = request_record_var.get()
        if record is None:
            return
        ec = self.execution_context
        record.ran = True
        try:
            record.operation = ec.operation_name
        except Exception:  # noqa: BLE001 - a document that did not parse has no name
            record.operation = None
        principal = getattr(ec.context, "principal", None)
        record.user_id = getattr(principal, "user_id", None)
        errors = getattr(ec.result, "errors", None) or ec.pre_execution_errors or []
        if not errors and ec.graphql_document is None:
            record.graphql_errors += 1  # a syntax error, raised past this extension
        for error in errors:
            if (error.extensions or {}).get("code") == "INTERNAL":
                record.internal_errors += 1
            else:
                record.graphql_errors += 1
