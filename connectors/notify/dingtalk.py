"""``dingtalk``: a DingTalk (钉钉) custom robot, signed.

``POST {base_url}/robot/send?access_token=<t>&timestamp=<ms>&sign=<s>`` with a markdown message;
``sign`` is :func:`connectors.signing.dingtalk_sign` of the robot's secret (leave ``secret`` unset
for a robot secured by keywords or IP instead). Verdict from the body: ``errcode`` 0 sent, 130101
("send too fast", after which DingTalk throttles the robot for about 10 minutes) transient with
10 minutes to wait, 310000 (keyword, signature, timestamp or IP check) and 300005 (no such token)
permanent, anything else transient. 20 messages a minute per robot.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import Field

from connectors.notify import Message
from connectors.notify.robot import ChatRobot, RobotSettings, cut
from connectors.ratelimit import SlidingWindow
from connectors.sdk import SecretStr
from connectors.signing import dingtalk_sign

__all__ = ["DingtalkRobot"]

MAX_TEXT_BYTES = 20_000
MAX_TITLE_BYTES = 500
WINDOW = SlidingWindow(60.0)


class DingtalkSettings(RobotSettings):
    access_token: SecretStr
    secret: SecretStr | None = None
    base_url: str = "https://oapi.dingtalk.com"
    per_minute: int = Field(20, ge=1, le=20)


class DingtalkRobot(ChatRobot):
    Settings = DingtalkSettings
    WINDOW = WINDOW
    waits = {130101: 600.0}  # "send too fast", then throttled for about 10 minutes
    PERMANENT = frozenset({310000, 300005})
    label = "DingTalk"

    def _secret(self) -> str:
        return str(self.settings.access_token.get_secret_value())

    def _request(self, message: Message) -> tuple[str, dict[str, str] | None, dict[str, Any]]:
        lines = [f"### {message.title}", message.markdown]
        if message.link:
            lines.append(f"[{message.link}]({message.link})")
        if message.mentions:  # DingTalk shows an @ only when the text names it too
            lines.append(" ".join(f"@{m}" for m in message.mentions))
        body = {
            "msgtype": "markdown",
            "markdown": {
                "title": message.title,
                "text": cut("\n\n".join(x for x in lines if x), MAX_TEXT_BYTES),
            },
            "at": {"atMobiles": list(message.mentions), "isAtAll": False},
        }
        params = {"access_token": self._secret()}
        if self.settings.secret is not None:
            ts = int(time.time() * 1000)
            params |= {
                "timestamp": str(ts),
                "sign": dingtalk_sign(self.settings.secret.get_secret_value(), ts),
            }
        return "/robot/send", params, body
