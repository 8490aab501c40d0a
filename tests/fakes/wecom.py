"""A fake WeCom (企业微信) group robot on 127.0.0.1 that speaks the real protocol (PROTOCOLS.md):
``POST /cgi-bin/webhook/send?key=<key>``, HTTP 200 with ``errcode`` even on failure, 20
messages a minute per robot (then errcode 45009), unknown keys 93000, markdown over 4,096
bytes 40058; faults from :class:`tests.fakes.base.FakePeer`."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.base import FakePeer


class FakeWecom(FakePeer):
    def __init__(self, keys: set[str], per_minute: int = 20) -> None:
        super().__init__()
        self.keys = set(keys)
        self.per_minute = per_minute
        self.received: dict[str, list[dict[str, Any]]] = {}

    def handle(self, path: str, query: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        key = query.get("key", "")
        if path != "/cgi-bin/webhook/send" or key not in self.keys:
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
        try:
            doc = json.loads(body)
            kind = doc["msgtype"]
            content = doc[kind]["content"]
        except (ValueError, KeyError, TypeError):
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}
        if kind == "markdown" and len(content.encode()) > 4096:
            return 200, {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
        if not self.within_rate(key, self.per_minute):
            return 200, {"errcode": 45009, "errmsg": "api freq out of limit"}
        self.received.setdefault(key, []).append(doc)
        return 200, {"errcode": 0, "errmsg": "ok"}
