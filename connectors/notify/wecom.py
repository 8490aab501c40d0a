"""``wecom``: a WeCom (企业微信) group robot.

``POST {base_url}/cgi-bin/webhook/send?key=<webhook_key>`` with a markdown message. The robot
answers HTTP 200 even on failure; the ``errcode`` in the body decides: 0 sent, 45009 rate limited
(TransientError, retry after a minute), 93000 (bad key) and 40xxx–44xxx (bad message) permanent,
anything else transient. A robot takes 20 messages a minute (see :mod:`connectors.notify.robot`).
Markdown is cut to WeCom's 4,096 bytes.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from connectors.notify import Message
from connectors.notify.robot import ChatRobot, RobotSettings, cut
from connectors.ratelimit import SlidingWindow
from connectors.sdk import SecretStr

__all__ = ["WecomRobot"]

MAX_MARKDOWN_BYTES = 4096
WINDOW = SlidingWindow(60.0)


class WecomSettings(RobotSettings):
    webhook_key: SecretStr
    base_url: str = "https://qyapi.weixin.qq.com"
    per_minute: int = Field(20, ge=1, le=20)


def render(message: Message) -> str:
    """WeCom markdown: bold title, body, link, then @-mentions; cut to 4,096 bytes."""
    parts = [f"**{message.title}**", message.markdown]
    if message.link:
        parts.append(f"[{message.link}]({message.link})")
    if message.mentions:
        parts.append(" ".join(f"<@{m}>" for m in message.mentions))
    return cut("\n".join(p for p in parts if p), MAX_MARKDOWN_BYTES)


class WecomRobot(ChatRobot):
    Settings = WecomSettings
    WINDOW = WINDOW
    waits = {45009: 60.0}
    label = "WeCom"

    def _secret(self) -> str:
        return str(self.settings.webhook_key.get_secret_value())

    def _request(self, message: Message) -> tuple[str, dict[str, str] | None, dict[str, Any]]:
        body = {"msgtype": "markdown", "markdown": {"content": render(message)}}
        return "/cgi-bin/webhook/send", {"key": self._secret()}, body

    def _permanent(self, code: Any) -> bool:  # 93000 bad key; 40xxx-44xxx a bad message
        return code == 93000 or (isinstance(code, int) and 40000 <= code < 45000)
