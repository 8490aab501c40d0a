"""``jsonl``: a notifier that appends each message as one JSON line to a file.

Everything a third-party connector needs: typed settings, the Protocol of its kind, the error
taxonomy, an entry point (in pyproject.toml) and the contract suite (tests/).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from pydantic import field_validator

from connectors.notify import Message
from connectors.sdk import CheckResult, ConnectorSettings, PermanentError, TransientError

__all__ = ["JsonlNotifier"]


class JsonlSettings(ConnectorSettings):
    path: Path

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        if not value.is_absolute():
            raise ValueError("must be an absolute path")
        return value


class JsonlNotifier:
    Settings = JsonlSettings

    def __init__(self, settings: JsonlSettings) -> None:
        self.settings = settings

    def _append(self, line: str) -> None:
        with self.settings.path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")

    async def check(self) -> CheckResult:
        folder = self.settings.path.parent
        if not folder.is_dir():
            raise PermanentError(f"folder {folder} does not exist")
        return CheckResult(True, f"appends to {self.settings.path}")

    async def aclose(self) -> None:
        return None

    async def send(self, message: Message) -> None:
        record = {"title": message.title, "markdown": message.markdown, "mentions": list(message.mentions),
                  "link": message.link}  # fmt: skip
        try:
            await asyncio.to_thread(self._append, json.dumps(record, ensure_ascii=False))
        except FileNotFoundError as e:
            raise PermanentError(f"cannot write {self.settings.path}: folder missing") from e
        except OSError as e:  # a full disk, a network share away: worth a retry
            raise TransientError(f"cannot write {self.settings.path} ({type(e).__name__})") from e
