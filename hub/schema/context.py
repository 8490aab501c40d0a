"""What every resolver can reach: the caller, the database and the services' settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub.db import Database
from hub.domain.auth.principal import Principal
from hub.domain.auth.services import PasswordGuard
from hub.domain.auth.sessions import UserStateCache
from hub.domain.auth.tokens import TokenService
from hub.settings import Settings

__all__ = ["AppState", "Context"]


@dataclass(slots=True)
class AppState:
    """Built once per process by the app factory."""

    settings: Settings
    db: Database
    tokens: TokenService
    passwords: PasswordGuard  # the login throttle and the bound on concurrent password checks
    users: UserStateCache  # users' current state for each request's caller; forget() on change


@dataclass(slots=True)
class Context:
    """Per request."""

    app: AppState
    principal: Principal | None
    request_id: str
    # The client's IP address as the server saw it (behind a proxy listed in
    # HUB_FORWARDED_ALLOW_IPS, the one it forwarded); None when unknown.
    client_address: str | None = None
    loaders: dict[str, Any] = field(default_factory=dict)  # per-request DataLoaders, by name

    @property
    def db(self) -> Database:
        return self.app.db

    @property
    def currency(self) -> str:
        return self.app.settings.currency
