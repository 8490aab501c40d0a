"""``feishu``: a Feishu/Lark (飞书) custom bot, signed.

``POST {base_url}/open-apis/bot/v2/hook/<hook_id>`` with an interactive card (title header,
markdown body); ``timestamp`` and ``sign`` (:func:`connectors.signing.feishu_sign`, not the
DingTalk formula) go in the JSON body when a ``secret`` is set. Verdict from the body: ``code`` 0
sent, 11232 (rate limit) transient with a minute to wait, 19021 (signature or timestamp),
19022 (IP), 19024 (keywords) and 9499 (a request refused, e.g. too large) permanent, anything
else transient. 100 messages a
minute per bot; the body is cut to stay under Feishu's 20 KB.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import Field

from connectors.notify import Message
from connectors.notify.robot import ChatRobot, RobotSettings, cut
from connectors.ratelimit import SlidingWindow
from connectors.sdk import SecretStr
from connectors.signing import feishu_sign

__all__ = ["FeishuBot"]

MAX_MARKDOWN_BYTES = 18_000  # the whole body must stay under 20 KB
WINDOW = SlidingWindow(60.0)
MAX_TITLE_BYTES = 500


class FeishuSettings(RobotSettings):
    hook_id: SecretStr
    secret: SecretStr | None = None
    base_url: str = "https://open.feishu.cn"
    per_minute: int = Field(100, ge=1, le=100)


class FeishuBot(ChatRobot):
    Settings = FeishuSettings
    WINDOW = WINDOW
    code_keys = ("code", "StatusCode")
    message_key = "msg"
    waits = {11232: 60.0}
    PERMANENT = frozenset({19021, 19022, 19024, 9499})  # 9499: a request Feishu refuses (e.g. too large)
    label = "Feishu"

    def _secret(self) -> str:
        return str(self.settings.hook_id.get_secret_value())

    def _request(self, message: Message) -> tuple[str, dict[str, str] | None, dict[str, Any]]:
        parts = [message.markdown]
        if message.link:
            parts.append(f"[{message.link}]({message.link})")
        if message.mentions:
            parts.append(" ".join(f"<at id={m}></at>" for m in message.mentions))
        body: dict[str, Any] = {
            "msg_type": "interactive",
            "card": {
                "header": {"title": {"tag": "plain_text", "content": cut(message.title, MAX_TITLE_BYTES)}},
                "elements": [
                    {"tag": "markdown", "content": cut("\n".join(x for x in parts if x), MAX_MARKDOWN_BYTES)}
                ],
            },
        }
        if self.settings.secret is not None:
            ts = int(time.time())
            body = {
                "timestamp": str(ts),
                "sign": feishu_sign(self.settings.secret.get_secret_value(), ts),
            } | body
        return f"/open-apis/bot/v2/hook/{self._secret()}", None, body
