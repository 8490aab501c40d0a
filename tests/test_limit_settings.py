"""The settings of the request, document and login limits (issue 9, items 2 and 6)."""

from __future__ import annotations

import pytest

from hub.settings import ConfigError, Settings


def test_defaults() -> None:
    s = Settings.from_env({})
    assert (s.max_document_chars, s.max_tokens) == (100_000, 5_000)
    assert (s.anonymous_max_document_chars, s.anonymous_max_tokens) == (10_000, 1_000)
    assert (s.max_header_bytes, s.body_timeout_seconds) == (65_536, 10)
    assert (s.forwarded_allow_ips, s.max_concurrent_logins) == ("127.0.0.1", 0)


def test_values_are_read() -> None:
    s = Settings.from_env(
        {
            "HUB_MAX_DOCUMENT_CHARS": "2000",
            "HUB_MAX_TOKENS": "300",
            "HUB_ANONYMOUS_MAX_DOCUMENT_CHARS": "500",
            "HUB_ANONYMOUS_MAX_TOKENS": "60",
            "HUB_MAX_HEADER_BYTES": "8192",
            "HUB_BODY_TIMEOUT_SECONDS": "3",
            "HUB_FORWARDED_ALLOW_IPS": "10.0.0.0/8, 192.168.1.2",
            "HUB_MAX_CONCURRENT_LOGINS": "4",
        }
    )
    assert (s.max_document_chars, s.max_tokens, s.anonymous_max_document_chars) == (2000, 300, 500)
    assert (s.anonymous_max_tokens, s.max_header_bytes, s.body_timeout_seconds) == (60, 8192, 3)
    assert (s.forwarded_allow_ips, s.max_concurrent_logins) == ("10.0.0.0/8,192.168.1.2", 4)
    assert Settings.from_env({"HUB_FORWARDED_ALLOW_IPS": "*"}).forwarded_allow_ips == "*"


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"HUB_MAX_DOCUMENT_CHARS": "lots"}, "HUB_MAX_DOCUMENT_CHARS"),
        ({"HUB_MAX_TOKENS": "0"}, "HUB_MAX_TOKENS"),
        ({"HUB_ANONYMOUS_MAX_DOCUMENT_CHARS": "-1"}, "HUB_ANONYMOUS_MAX_DOCUMENT_CHARS"),
        ({"HUB_ANONYMOUS_MAX_TOKENS": "1.5"}, "HUB_ANONYMOUS_MAX_TOKENS"),
        ({"HUB_MAX_HEADER_BYTES": "100"}, "HUB_MAX_HEADER_BYTES"),
        ({"HUB_BODY_TIMEOUT_SECONDS": "0"}, "HUB_BODY_TIMEOUT_SECONDS"),
        ({"HUB_FORWARDED_ALLOW_IPS": "10.0.0.1/8"}, "HUB_FORWARDED_ALLOW_IPS"),
        ({"HUB_FORWARDED_ALLOW_IPS": "proxy.local"}, "HUB_FORWARDED_ALLOW_IPS"),
        ({"HUB_MAX_CONCURRENT_LOGINS": "5000"}, "HUB_MAX_CONCURRENT_LOGINS"),
    ],
)
def test_a_bad_value_names_its_variable_in_one_line(env: dict[str, str], name: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert name in str(info.value) and "\n" not in str(info.value)
