"""Keyset pages: opaque cursors, a bounded page size."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Generic, TypeVar

from connectors.sdk import UNSAFE_TEXT
from hub.domain.errors import DomainError

__all__ = ["MAX_PAGE", "Page", "check_first", "decode_cursor", "encode_cursor"]

T = TypeVar("T")
MAX_PAGE = 100
DEFAULT_PAGE = 20


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    has_next: bool
    end_cursor: str | None
    total_count: int | None = None


def check_first(first: int | None) -> int:
    """Raises: DomainError INVALID when ``first`` is negative or above 100."""
    if first is None:
        return DEFAULT_PAGE
    if first < 0:
        raise DomainError.invalid("first must not be negative", "first")
    if first > MAX_PAGE:
        raise DomainError.invalid(f"first must not exceed {MAX_PAGE}", "first")
    return first


def encode_cursor(kind: str, value: str | int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None) -> str | None:
    """The value inside a cursor of ``kind``.

    Raises:
        DomainError: INVALID for a cursor that is not one of ours.
    """
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise DomainError.invalid("after is not a valid cursor", "after") from None
    prefix, sep, value = raw.partition(":")
    if prefix != kind or not sep or UNSAFE_TEXT.search(value):  # a NUL hidden in base64, too
        raise DomainError.invalid("after is not a valid cursor", "after")
    return value
