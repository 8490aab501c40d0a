"""Small checks of client text shared by the areas."""

from __future__ import annotations

import re

from connectors.sdk import UNSAFE_TEXT
from hub.domain.errors import DomainError

__all__ = ["CODE_RE", "UNSAFE_TEXT", "check_clean", "check_code", "check_text"]

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-/]{0,63}$")


def check_clean(value: str, field: str) -> str:
    """``value`` unchanged if it carries no NUL, no other C0 control character but tab, line
    feed and carriage return, and no lone surrogate (:data:`UNSAFE_TEXT`): what no text the hub
    stores or hands on may contain, whoever calls (GraphQL refuses it earlier; a web page or a
    job relies on this).

    Raises:
        DomainError: INVALID otherwise.
    """
    if UNSAFE_TEXT.search(value):
        raise DomainError.invalid(
            f"{field} must not contain NUL or control characters other than tab and line breaks", field
        )
    return value


def check_text(value: str | None, field: str, *, max_len: int, required: bool = True) -> str | None:
    """Strip ``value`` and check its length and characters (:func:`check_clean`).

    Raises:
        DomainError: INVALID when required and blank, longer than ``max_len``, or carrying a
            NUL or other control character.
    """
    if value is None:
        if required:
            raise DomainError.invalid(f"{field} is required", field)
        return None
    text = check_clean(value, field).strip()
    if required and not text:
        raise DomainError.invalid(f"{field} must not be blank", field)
    if len(text) > max_len:
        raise DomainError.invalid(f"{field} must be at most {max_len} characters", field)
    return text or None


def check_code(value: str, field: str, max_len: int = 64) -> str:
    """A SKU or code: letters, digits and ``._-/``, starting with a letter or digit.

    Raises:
        DomainError: INVALID otherwise.
    """
    text = value.strip()
    if not CODE_RE.match(text) or len(text) > max_len:
        raise DomainError.invalid(
            f"{field} must be 1-{max_len} letters, digits or . _ - / (no spaces)", field
        )
    return text
