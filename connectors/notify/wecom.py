"""``wecom``: a WeCom (企业微信) group robot.

``POST {base_url}/cgi-bin/webhook/send?key=<webhook_key>`` with a markdown message. The robot
answers HTTP 200 even on failure; the ``errcode`` in the body decides: 0 sent, 45009 rate limited
(TransientError, retry after a minute), 93000 (bad key) and 40xxx/44xxx (bad message)
permanent, anything else transient. A robot takes 20 messages a minute: the notifier counts
what it sent in the last minute and, at the limit, raises TransientError with the wait instead of
calling (the job retries; nothing is dropped). Markdown is cut to WeCom's 4,096 bytes.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque

from pydantic import Field

from connectors.http import HttpPeer
from connectors.notify import Message
from connectors.sdk import CheckResult, ConnectorSettings, PermanentError, SecretStr, TransientError

__all__ = ["WecomRobot"]

MAX_MARKDOWN_BYTES = 4096
RATE_LIMITED = 45009
PERMANENT = {93000}


class WecomSettings(ConnectorSettings):
    webhook_key: SecretStr
    base_url: str = "https://qyapi.weixin.qq.com"
    timeout: float = Field(10.0, gt=0, le=60)
    per_minute: int = Field(20, ge=1, le=20)


def render(message: Message) -> str:
    """WeCom markdown: bold title, body, link, then @-mentions; cut to 4,096 bytes."""
    parts = [f"**{message.title}**", message.markdown]
    if message.link:
        parts.append(f"[{message.link}]({message.link})")
    if message.mentions:
        parts.append(" ".join(f"<@{m}>" for m in message.mentions))
    text = "\n".join(p for p in parts if p)
    data = text.encode()
    if len(data) <= MAX_MARKDOWN_BYTES:
        return text
    return data[: MAX_MARKDOWN_BYTES - 3].decode("utf-8", errors="ignore") + "…"


class _Window:
    """Messages sent per robot in the last minute, shared by every notifier of the process."""

    _by_robot: dict[str, deque[float]] = {}
    _lock = threading.Lock()

    @classmethod
    def take(cls, robot: str, per_minute: int, now: float) -> float:
        """0 when a message may go now (and counts it), else the seconds to wait."""
        with cls._lock:
            sent = cls._by_robot.setdefault(robot, deque())
            while sent and now - sent[0] >= 60:
                sent.popleft()
            if len(sent) >= per_minute:
                return 60 - (now - sent[0])
            sent.append(now)
            return 0.0


class WecomRobot:
    Settings = WecomSettings

    def __init__(self, settings: WecomSettings) -> None:
        self.settings = settings
        self.peer = HttpPeer(settings.base_url, timeout=settings.timeout)
        key = settings.webhook_key.get_secret_value()
        self._robot = hashlib.sha256(key.encode()).hexdigest()[:16]  # never the key itself

    async def aclose(self) -> None:
        await self.peer.aclose()

    async def check(self) -> CheckResult:
        await self.send(Message("Ordering hub: connectivity check", "This robot can post hub messages."))
        return CheckResult(True, f"posted a test message through {self.peer.host}")

    async def send(self, message: Message) -> None:
        wait = _Window.take(self._robot, self.settings.per_minute, time.monotonic())
        if wait:
            limit = self.settings.per_minute
            raise TransientError(f"WeCom robot at its limit of {limit}/min", retry_after=wait)
        body = {"msgtype": "markdown", "markdown": {"content": render(message)}}
        answer = await self.peer.post_json(
            "/cgi-bin/webhook/send", body, params={"key": self.settings.webhook_key.get_secret_value()}
        )
        code = answer.get("errcode") if isinstance(answer, dict) else None
        if code == 0:
            return
        key = self.settings.webhook_key.get_secret_value()
        text = str(answer.get("errmsg", ""))[:200].replace(key, "***") if isinstance(answer, dict) else ""
        if code == RATE_LIMITED:
            raise TransientError(f"WeCom rate limit: {text}", code=str(code), retry_after=60.0)
        if code in PERMANENT or (isinstance(code, int) and 40000 <= code < 45000):
            raise PermanentError(f"WeCom refused the message: {code} {text}", code=str(code))
        raise TransientError(f"WeCom answered errcode {code}: {text}", code=str(code))
