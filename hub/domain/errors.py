"""Expected business failures: a code from one enum, a message, and the input field at fault."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["DomainError", "ErrorCode", "Problem"]


class ErrorCode(StrEnum):
    INVALID = "INVALID"
    NOT_FOUND = "NOT_FOUND"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
    NOT_ORDERABLE = "NOT_ORDERABLE"
    CREDIT_LIMIT_EXCEEDED = "CREDIT_LIMIT_EXCEEDED"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    UNAVAILABLE = "UNAVAILABLE"  # the server is busy; nothing was done: retry in a moment
    BELOW_MINIMUM = "BELOW_MINIMUM"  # a SKU's quantity is below its minimum order quantity (起订量)
    NOT_MULTIPLE = "NOT_MULTIPLE"  # a SKU's quantity is not a multiple of its order multiple (倍数)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a request."""

    code: ErrorCode
    message: str
    field: str | None = None


class DomainError(Exception):
    """Raised by a service when a request cannot be carried out; nothing has been written.

    Carries one or more :class:`Problem` s; the GraphQL layer turns them into ``errors``.
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        if not self.problems:
            raise ValueError("DomainError needs at least one problem")
        super().__init__("; ".join(p.message for p in self.problems))

    @classmethod
    def one(cls, code: ErrorCode, message: str, field: str | None = None) -> DomainError:
        return cls([Problem(code, message, field)])

    @classmethod
    def not_found(cls, what: str, field: str | None = None) -> DomainError:
        return cls.one(ErrorCode.NOT_FOUND, f"{what} not found", field)

    @classmethod
    def denied(cls, message: str = "You do not have permission to do this") -> DomainError:
        return cls.one(ErrorCode.PERMISSION_DENIED, message)

    @classmethod
    def invalid(cls, message: str, field: str | None = None) -> DomainError:
        return cls.one(ErrorCode.INVALID, message, field)
