"""What the chat robots (WeCom, DingTalk, Feishu) share: the per-robot rate window, posting
through :class:`~connectors.http.HttpPeer`, the check message, and cutting text to a size.

A robot answers HTTP 200 even on failure, so each subclass reads the verdict from the body
(``_verdict``) and builds its own request (``_request``)."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from pydantic import Field

from connectors.http import HttpPeer
from connectors.notify import Message
from connectors.ratelimit import SlidingWindow, robot_id
from connectors.sdk import CheckResult, ConnectorSettings, PermanentError, TransientError

__all__ = ["ChatRobot", "RobotSettings", "cut"]


class RobotSettings(ConnectorSettings):
    timeout: float = Field(10.0, gt=0, le=60)


def cut(text: str, max_bytes: int) -> str:
    """``text`` within ``max_bytes`` of UTF-8, cut on a character boundary and marked with "…"."""
    data = text.encode()
    if len(data) <= max_bytes:
        return text
    return data[: max_bytes - 3].decode("utf-8", errors="ignore") + "…"


class ChatRobot:
    """Base of the robot notifiers. Subclasses set ``WINDOW``, ``label``, where the answer keeps
    its code and message (``code_keys``, ``message_key``), which codes are rate limits (``waits``:
    code → seconds to wait) and which are permanent (``PERMANENT``, or override
    ``_permanent``), and implement ``_secret`` and ``_request``."""

    WINDOW: ClassVar[SlidingWindow]
    label: ClassVar[str]
    code_keys: ClassVar[tuple[str, ...]] = ("errcode",)
    message_key: ClassVar[str] = "errmsg"
    waits: ClassVar[dict[int, float]] = {}
    PERMANENT: ClassVar[frozenset[int]] = frozenset()

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.peer = HttpPeer(settings.base_url, timeout=settings.timeout)
        self._robot = robot_id(self._secret())

    def _secret(self) -> str:
        """The value that identifies the robot (its key, token or hook id)."""
        raise NotImplementedError

    def _request(self, message: Message) -> tuple[str, dict[str, str] | None, dict[str, Any]]:
        """(path, query parameters, JSON body) for one message."""
        raise NotImplementedError

    def _permanent(self, code: Any) -> bool:
        return code in self.PERMANENT

    def _verdict(self, answer: Any) -> None:
        """Return when the robot accepted the message (code 0); raise the taxonomy's error
        otherwise: a rate limit is transient with its wait, a permanent code permanent, any
        other code transient."""
        code = None
        if isinstance(answer, dict):
            code = next((answer[k] for k in self.code_keys if k in answer), None)
        if code == 0:
            return
        text = self._text(answer, self.message_key)
        if code in self.waits:
            raise TransientError(
                f"{self.label} rate limit: {code} {text}", code=str(code), retry_after=self.waits[code]
            )
        if self._permanent(code):
            raise PermanentError(f"{self.label} refused the message: {code} {text}", code=str(code))
        raise TransientError(f"{self.label} answered code {code}: {text}", code=str(code))

    def _text(self, answer: Any, key: str) -> str:
        """The robot's error text, short, with any secret of ours masked."""
        text = str(answer.get(key, "")) if isinstance(answer, dict) else ""
        for secret in self._secrets():
            text = text.replace(secret, "***")
        return text[:200]

    def _secrets(self) -> list[str]:
        """Every secret of the settings: the robot's own, and its signing secret if any."""
        signing = getattr(self.settings, "secret", None)
        return [self._secret(), *([signing.get_secret_value()] if signing is not None else [])]

    async def aclose(self) -> None:
        await self.peer.aclose()

    async def check(self) -> CheckResult:
        await self.send(Message("Ordering hub: connectivity check", "This robot can post hub messages."))
        return CheckResult(True, f"posted a test message through {self.peer.host}")

    async def send(self, message: Message) -> None:
        limit = self.settings.per_minute
        wait = self.WINDOW.take(self._robot, limit, time.monotonic())
        if wait:
            raise TransientError(f"{self.label} robot at its limit of {limit}/min", retry_after=wait)
        path, params, body = self._request(message)
        self._verdict(await self.peer.post_json(path, body, params))
