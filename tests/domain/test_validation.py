"""The domain's own text checks refuse NUL and other control characters, for callers that do not
come through GraphQL (a web page, a job)."""

from __future__ import annotations

import pytest

from hub.domain.errors import DomainError
from hub.domain.validation import check_clean, check_code, check_text


@pytest.mark.parametrize("bad", ["a\x00b", "\x01", "x\x1b[31m", "a\x0bb", "a\x7f\x00", "\ud800"])
def test_text_with_nul_or_control_characters_is_invalid(bad: str) -> None:
    for check in (
        lambda: check_clean(bad, "note"),
        lambda: check_text(bad, "note", max_len=100),
        lambda: check_text(bad, "note", max_len=100, required=False),
        lambda: check_code(bad, "sku"),
    ):
        with pytest.raises(DomainError) as e:
            check()
        assert e.value.problems[0].code.value == "INVALID"
        assert e.value.problems[0].field in ("note", "sku")


def test_tabs_and_line_breaks_are_legal() -> None:
    assert check_clean("one\r\ntwo\tthree", "note") == "one\r\ntwo\tthree"
    assert check_text("  one\ntwo  ", "note", max_len=100) == "one\ntwo"
