"""Alembic migrations, run by ``hub migrate``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from hub.settings import Settings

__all__ = ["alembic_config", "head_revisions", "upgrade"]

HERE = Path(__file__).parent


def alembic_config(settings: Settings) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["settings"] = settings
    return cfg


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Bring the database to ``revision`` (blocking; call from a thread inside async code)."""
    command.upgrade(alembic_config(settings), revision)


def head_revisions(settings: Settings) -> frozenset[str]:
    """The revisions a current database is at (one, unless the scripts branch): what
    ``alembic_version`` must hold for ``GET /readyz``. Reads the scripts, no database."""
    return frozenset(ScriptDirectory.from_config(alembic_config(settings)).get_heads())
