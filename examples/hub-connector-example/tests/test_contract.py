"""The example passes the hub's notifier contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hub_connector_example import JsonlNotifier

from connectors.notify.testing import NotifierContract


class TestJsonlNotifier(NotifierContract):
    @pytest.fixture(autouse=True)
    def _file(self, tmp_path: Path) -> None:
        self.path = tmp_path / "messages.jsonl"

    async def make_connector(self) -> JsonlNotifier:
        return JsonlNotifier(JsonlNotifier.Settings(path=self.path))

    def delivered(self, connector: Any) -> list[str]:
        return [json.loads(line)["title"] for line in self.path.read_text(encoding="utf-8").splitlines()]
