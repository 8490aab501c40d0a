"""All process settings, read once from the environment (``HUB_*``).

The domain never reads the environment: the composition root (CLI, app factory) builds a
:class:`Settings` and passes values down. A missing or malformed setting raises
:class:`ConfigError`, whose message is one line naming the variable; the CLI prints it and exits.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["ConfigError", "Settings", "async_database_url"]


class ConfigError(Exception):
    """A setting is missing or malformed. ``str(error)`` is one line naming the variable."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
DEMO_SECRET_KEY = "demo-insecure-secret-key-change-me-0123456789"


def async_database_url(url: str) -> str:
    """Map a plain ``sqlite:///…`` or ``postgresql://…`` URL onto the async driver the hub uses.

    Raises:
        ConfigError: the URL is not SQLite or PostgreSQL.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or not rest:
        raise ConfigError(f"HUB_DATABASE_URL is not a URL: {url!r}")
    base = scheme.split("+", 1)[0].lower()
    if base == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    if base in {"postgresql", "postgres"}:
        return f"postgresql+asyncpg://{rest}"
    raise ConfigError(f"HUB_DATABASE_URL must be a sqlite:/// or postgresql:// URL, got scheme {scheme!r}")


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    low = raw.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def _origins(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated ``scheme://host[:port]`` origins (no path, no trailing slash)."""
    raw = env.get(name) or ""
    origins = tuple(o.strip() for o in raw.split(",") if o.strip())
    for origin in origins:
        if not _ORIGIN.fullmatch(origin):
            raise ConfigError(
                f"{name} must list origins like https://shop.example.com:8443, separated by commas, "
                f"got {origin!r}"
            )
    return origins


def _forwarded(env: Mapping[str, str], name: str) -> str:
    """Comma-separated IP addresses or networks of trusted proxies, or ``*`` (uvicorn's
    ``forwarded_allow_ips``); unset: 127.0.0.1 only."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return "127.0.0.1"
    if raw == "*":
        return raw
    import ipaddress

    for item in (i.strip() for i in raw.split(",")):
        try:
            ipaddress.ip_network(item)  # strict, as uvicorn parses it
        except ValueError:
            raise ConfigError(
                f"{name} must list IP addresses or networks separated by commas, or *, got {item!r}"
            ) from None
    return ",".join(i.strip() for i in raw.split(",") if i.strip())


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class Settings:
    """The hub's configuration. Build it with :meth:`from_env`; tests build it directly."""

    database_url: str = "sqlite:///hub.db"
    redis_url: str | None = None
    secret_key: str = DEMO_SECRET_KEY
    currency: str = "CNY"
    token_ttl_seconds: int = 8 * 3600
    # How long a process may reuse a user's row for its requests (0: read it on every request).
    user_cache_seconds: int = 2
    graphiql: bool = True
    introspection: bool = True
    fast_execution: bool = True  # hub/schema/execution.py; false: strawberry's own executor
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    max_body_bytes: int = 1_000_000
    db_pool_size: int = 20
    connectors_file: Path | None = None
    job_lease_seconds: int = 120  # a running integration job is another worker's after this
    job_overdue_seconds: int = 60  # a due job not started this long after is sent again
    event_redeliver_seconds: int = 1800  # an event published but not handled this long is sent again
    cors_origins: tuple[str, ...] = ()  # browser origins allowed to call /graphql
    # GraphQL documents (docs/security.md "Document, header and body limits"): characters of the
    # query string and lexical tokens, checked before parsing; anonymous callers get less.
    max_document_chars: int = 100_000
    max_tokens: int = 5_000
    anonymous_max_document_chars: int = 10_000
    anonymous_max_tokens: int = 1_000
    max_header_bytes: int = 65_536  # request line and headers together; more: 431 and close
    body_timeout_seconds: int = 10  # a request's head, and then its body, must arrive within this
    forwarded_allow_ips: str = "127.0.0.1"  # proxies whose X-Forwarded-For uvicorn believes
    max_concurrent_logins: int = 0  # password checks at once; 0: twice the CPU count
    # Bounded query cost (docs/security.md, "Query cost, timeouts and the pool").
    max_query_cost: int = 20_000  # hub/schema/cost.py: operations estimated above it are refused
    db_statement_timeout_ms: int = 5000  # PostgreSQL statement_timeout of every connection; 0: none
    request_timeout_ms: int = 10_000  # a query operation's whole execution; 0: none
    db_pool_timeout_seconds: int = 3  # wait for a pooled connection, then answer 503 + Retry-After

    @property
    def async_database_url(self) -> str:
        return async_database_url(self.database_url)

    @property
    def is_sqlite(self) -> bool:
        return self.async_database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read ``HUB_*`` variables.

        Raises:
            ConfigError: a variable is malformed (the message names it).
        """
        env = os.environ if env is None else env
        database_url = env.get("HUB_DATABASE_URL") or "sqlite:///hub.db"
        async_database_url(database_url)  # validate early, one-line error
        if database_url.startswith("sqlite") and ":memory:" not in database_url:
            path = database_url.split("///", 1)[-1]
            parent = Path(path).expanduser().resolve().parent if path else None
            if parent is not None and not parent.is_dir():
                raise ConfigError(f"HUB_DATABASE_URL points into a missing folder: {parent}")
        redis_url = env.get("HUB_REDIS_URL") or None
        if redis_url is not None and urlsplit(redis_url).scheme not in {"redis", "rediss"}:
            raise ConfigError(f"HUB_REDIS_URL must be a redis:// URL, got {redis_url!r}")
        secret_key = env.get("HUB_SECRET_KEY") or ""
        if not secret_key:
            if not database_url.startswith("sqlite"):
                # A shared database means a real installation: the public demo key would let
                # anyone sign an ADMIN token.
                raise ConfigError("HUB_SECRET_KEY must be set when HUB_DATABASE_URL is not SQLite")
            secret_key = DEMO_SECRET_KEY
        elif len(secret_key) < 32:
            raise ConfigError("HUB_SECRET_KEY must be at least 32 characters long")
        currency = (env.get("HUB_CURRENCY") or "CNY").strip()
        if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
            raise ConfigError(f"HUB_CURRENCY must be an ISO 4217 code like CNY, got {currency!r}")
        connectors_file = None
        if env.get("HUB_CONNECTORS_FILE"):
            connectors_file = Path(env["HUB_CONNECTORS_FILE"]).expanduser()
            if not connectors_file.is_file():
                raise ConfigError(f"HUB_CONNECTORS_FILE names no readable file: {connectors_file}")
        log_level = (env.get("HUB_LOG_LEVEL") or "INFO").upper()
        if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ConfigError(f"HUB_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {log_level!r}")
        return cls(
            database_url=database_url,
            redis_url=redis_url,
            secret_key=secret_key,
            currency=currency,
            token_ttl_seconds=_int(env, "HUB_TOKEN_TTL_SECONDS", 8 * 3600, 60, 30 * 86400),
            user_cache_seconds=_int(env, "HUB_USER_CACHE_SECONDS", 2, 0, 60),
            graphiql=_bool(env, "HUB_GRAPHIQL", True),
            introspection=_bool(env, "HUB_INTROSPECTION", True),
            fast_execution=_bool(env, "HUB_FAST_EXECUTION", True),
            host=env.get("HUB_HOST") or "127.0.0.1",
            port=_int(env, "HUB_PORT", 8000, 1, 65535),
            log_level=log_level,
            max_body_bytes=_int(env, "HUB_MAX_BODY_BYTES", 1_000_000, 1024, 100_000_000),
            db_pool_size=_int(env, "HUB_DB_POOL_SIZE", 20, 1, 1000),
            connectors_file=connectors_file,
            job_lease_seconds=_int(env, "HUB_JOB_LEASE_SECONDS", 120, 1, 3600),
            job_overdue_seconds=_int(env, "HUB_JOB_OVERDUE_SECONDS", 60, 1, 3600),
            event_redeliver_seconds=_int(env, "HUB_EVENT_REDELIVER_SECONDS", 1800, 1, 86400),
            cors_origins=_origins(env, "HUB_CORS_ORIGINS"),
            max_document_chars=_int(env, "HUB_MAX_DOCUMENT_CHARS", 100_000, 100, 10_000_000),
            max_tokens=_int(env, "HUB_MAX_TOKENS", 5_000, 50, 1_000_000),
            anonymous_max_document_chars=_int(
                env, "HUB_ANONYMOUS_MAX_DOCUMENT_CHARS", 10_000, 100, 10_000_000
            ),
            anonymous_max_tokens=_int(env, "HUB_ANONYMOUS_MAX_TOKENS", 1_000, 50, 1_000_000),
            max_header_bytes=_int(env, "HUB_MAX_HEADER_BYTES", 65_536, 4096, 16_777_216),
            body_timeout_seconds=_int(env, "HUB_BODY_TIMEOUT_SECONDS", 10, 1, 3600),
            forwarded_allow_ips=_forwarded(env, "HUB_FORWARDED_ALLOW_IPS"),
            max_concurrent_logins=_int(env, "HUB_MAX_CONCURRENT_LOGINS", 0, 0, 1024),
            max_query_cost=_int(env, "HUB_MAX_QUERY_COST", 20_000, 100, 100_000_000),
            db_statement_timeout_ms=_int(env, "HUB_DB_STATEMENT_TIMEOUT_MS", 5000, 0, 86_400_000),
            request_timeout_ms=_int(env, "HUB_REQUEST_TIMEOUT_MS", 10_000, 0, 86_400_000),
            db_pool_timeout_seconds=_int(env, "HUB_DB_POOL_TIMEOUT_SECONDS", 3, 1, 300),
        )

    @staticmethod
    def random_secret() -> str:
        return secrets.token_urlsafe(48)
