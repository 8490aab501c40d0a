"""Fake DingTalk (钉钉) and Feishu (飞书) robots on 127.0.0.1 that check signatures and
timestamps as the real ones do (PROTOCOLS.md) and answer with their error codes."""

from __future__ import annotations

import json
import time
from typing import Any

from connectors.signing import dingtalk_sign, feishu_sign
from tests.fakes.base import FakePeer


class FakeDingtalk(FakePeer):
    """``POST /robot/send?access_token=&timestamp=&sign=``; 20/min then 130101."""

    def __init__(self, tokens: dict[str, str | None], per_minute: int = 20) -> None:
        super().__init__()
        self.tokens = tokens  # token -> secret (None: not signed)
        self.per_minute = per_minute
        self.received: list[dict[str, Any]] = []

    def handle(self, path: str, query: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        token = query.get("access_token", "")
        if path != "/robot/send" or token not in self.tokens:
            return 200, {"errcode": 300005, "errmsg": "token is not exist"}
        secret = self.tokens[token]
        if secret is not None:
            try:
                ts = int(query.get("timestamp", ""))
            except ValueError:
                return 200, {"errcode": 310000, "errmsg": "sign not match"}
            if abs(time.time() * 1000 - ts) > 3600_000 or query.get("sign") != dingtalk_sign(secret, ts):
                return 200, {"errcode": 310000, "errmsg": "sign not match"}
        if not self.within_rate(token, self.per_minute):
            return 200, {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
        self.received.append(json.loads(body))
        return 200, {"errcode": 0, "errmsg": "ok"}


class FakeFeishu(FakePeer):
    """``POST /open-apis/bot/v2/hook/<id>``, timestamp and sign in the body; 100/min then 11232."""

    def __init__(self, hooks: dict[str, str | None], per_minute: int = 100) -> None:
        super().__init__()
        self.hooks = hooks  # hook id -> secret (None: not signed)
        self.per_minute = per_minute
        self.bad_request_next = 0  # answer 9499 "Bad Request" to this many messages
        self.received: list[dict[str, Any]] = []

    def handle(self, path: str, query: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        hook = path.removeprefix("/open-apis/bot/v2/hook/")
        if hook not in self.hooks:
            return 404, {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"}
        doc = json.loads(body)
        secret = self.hooks[hook]
        if secret is not None:
            try:
                ts = int(doc.get("timestamp", ""))
            except ValueError:
                return 200, {"code": 19021, "msg": "sign match fail or timestamp is not within one hour"}
            if abs(time.time() - ts) > 3600 or doc.get("sign") != feishu_sign(secret, ts):
                return 200, {"code": 19021, "msg": "sign match fail or timestamp is not within one hour"}
        if len(body) > 20_000 or self.bad_request_next > 0:
            self.bad_request_next = max(self.bad_request_next - 1, 0)
            return 200, {"code": 9499, "msg": "Bad Request"}
        if not self.within_rate(hook, self.per_minute):
            return 200, {"code": 11232, "msg": "frequency limited"}
        self.received.append(doc)
        return 200, {"code": 0, "msg": "success", "data": {}}
