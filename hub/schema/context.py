"""What every resolver can reach: the caller, the database and the services' settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from hub.db import Database
from hub.domain.auth.principal import Principal
from hub.domain.auth.services import PasswordGuard
from hub.domain.auth.sessions import UserStateCache
from hub.domain.auth.tokens import TokenService
from hub.settings import Settings

__all__ = ["AppState", "Context"]

K = TypeVar("K")
V = TypeVar("V")


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

    def loader(
        self, name: str, load: Callable[[Sequence[K]], Awaitable[Sequence[V | BaseException]]]
    ) -> DataLoader[K, V]:
        """The request's DataLoader called ``name``: made with the batch function ``load`` on
        first use, so every object of one query level shares one read (later ``load``s are not
        used)."""
        loader = self.loaders.get(name)
        if loader is None:
            loader = self.loaders[name] = DataLoader(load_fn=load)
        return loader

    @property
    def db(self) -> Database:
        return self.app.db

    @property
    def currency(self) -> str:
        return self.app.settings.currency
