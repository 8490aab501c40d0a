"""Settings come from HUB_* variables; a bad one stops start-up with a one-line message."""

from __future__ import annotations

import pytest

from hub.settings import ConfigError, Settings, async_database_url


def test_defaults_are_the_embedded_demo() -> None:
    s = Settings.from_env({})
    assert s.database_url == "sqlite:///hub.db"
    assert s.redis_url is None
    assert s.port == 8000
    assert s.currency == "CNY"
    assert s.fast_execution is True


def test_the_fast_executor_can_be_switched_off() -> None:
    assert Settings.from_env({"HUB_FAST_EXECUTION": "false"}).fast_execution is False
    assert Settings.from_env({"HUB_FAST_EXECUTION": "true"}).fast_execution is True


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///hub.db", "sqlite+aiosqlite:///hub.db"),
        ("sqlite:////tmp/x.db", "sqlite+aiosqlite:////tmp/x.db"),
        ("postgresql://u@h:5432/db", "postgresql+asyncpg://u@h:5432/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_plain_urls_get_the_async_driver(url: str, expected: str) -> None:
    assert async_database_url(url) == expected


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"HUB_DATABASE_URL": "mysql://x/y"}, "HUB_DATABASE_URL"),
        ({"HUB_DATABASE_URL": "nonsense"}, "HUB_DATABASE_URL"),
        ({"HUB_DATABASE_URL": "sqlite:////no/such/folder/x.db"}, "HUB_DATABASE_URL"),
        ({"HUB_PORT": "eighty"}, "HUB_PORT"),
        ({"HUB_PORT": "70000"}, "HUB_PORT"),
        ({"HUB_REDIS_URL": "http://localhost"}, "HUB_REDIS_URL"),
        ({"HUB_SECRET_KEY": "short"}, "HUB_SECRET_KEY"),
        ({"HUB_CURRENCY": "yuan"}, "HUB_CURRENCY"),
        ({"HUB_GRAPHIQL": "maybe"}, "HUB_GRAPHIQL"),
        ({"HUB_FAST_EXECUTION": "fast"}, "HUB_FAST_EXECUTION"),
        ({"HUB_LOG_LEVEL": "LOUD"}, "HUB_LOG_LEVEL"),
        ({"HUB_TOKEN_TTL_SECONDS": "5"}, "HUB_TOKEN_TTL_SECONDS"),
        ({"HUB_USER_CACHE_SECONDS": "61"}, "HUB_USER_CACHE_SECONDS"),
    ],
)
def test_a_malformed_setting_names_itself_in_one_line(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    message = str(info.value)
    assert names in message
    assert "\n" not in message


def test_the_secret_key_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"HUB_SECRET_KEY": "tooshort-secret"})
    assert "tooshort-secret" not in str(info.value)


def test_a_shared_database_needs_a_secret_key() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"HUB_DATABASE_URL": "postgresql://u@h/db"})
    assert "HUB_SECRET_KEY" in str(info.value)
    ok = Settings.from_env({"HUB_DATABASE_URL": "postgresql://u@h/db", "HUB_SECRET_KEY": "k" * 40})
    assert ok.secret_key == "k" * 40
