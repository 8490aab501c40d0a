"""DingTalk and Feishu robots against fakes that verify signatures as the real ones do."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectors.notify import Message
from connectors.notify.dingtalk import WINDOW as DING_WINDOW
from connectors.notify.dingtalk import DingtalkRobot
from connectors.notify.feishu import WINDOW as FEISHU_WINDOW
from connectors.notify.feishu import FeishuBot
from connectors.notify.testing import NotifierContract
from connectors.sdk import PermanentError, TransientError
from tests.fakes.robots import FakeDingtalk, FakeFeishu

TOKEN, DING_SECRET = "ding-token-1", "SEC0123456789abcdef"
HOOK, FEISHU_SECRET = "2d0d4f5e-hook-id", "feishu-secret"


@pytest.fixture
def ding() -> Iterator[FakeDingtalk]:
    DING_WINDOW.clear()
    with FakeDingtalk({TOKEN: DING_SECRET}) as peer:
        yield peer


@pytest.fixture
def feishu() -> Iterator[FakeFeishu]:
    FEISHU_WINDOW.clear()
    with FakeFeishu({HOOK: FEISHU_SECRET}) as peer:
        yield peer


def dingtalk(peer: FakeDingtalk, secret: str | None = DING_SECRET, **kw: Any) -> DingtalkRobot:
    return DingtalkRobot(DingtalkRobot.Settings(access_token=TOKEN, secret=secret, base_url=peer.url, **kw))


def feishu_bot(peer: FakeFeishu, secret: str | None = FEISHU_SECRET, **kw: Any) -> FeishuBot:
    return FeishuBot(FeishuBot.Settings(hook_id=HOOK, secret=secret, base_url=peer.url, **kw))


class TestDingtalkRobot(NotifierContract):
    @pytest.fixture(autouse=True)
    def _peer(self, ding: FakeDingtalk) -> None:
        self.peer = ding

    async def make_connector(self) -> DingtalkRobot:
        return dingtalk(self.peer)

    def delivered(self, connector: Any) -> list[str]:
        return [m["markdown"]["text"] for m in self.peer.received]


class TestFeishuBot(NotifierContract):
    @pytest.fixture(autouse=True)
    def _peer(self, feishu: FakeFeishu) -> None:
        self.peer = feishu

    async def make_connector(self) -> FeishuBot:
        return feishu_bot(self.peer)

    def delivered(self, connector: Any) -> list[str]:
        return [m["card"]["header"]["title"]["content"] for m in self.peer.received]


async def test_dingtalk_markdown_names_the_mentioned_mobiles(ding: FakeDingtalk) -> None:
    r = dingtalk(ding)
    await r.send(Message("订单已审批", "SO000123", mentions=("13800000000",), link="https://hub/o/1"))
    await r.aclose()
    [body] = ding.received
    assert body["at"] == {"atMobiles": ["13800000000"], "isAtAll": False}
    assert (
        body["markdown"]["text"]
        == "### 订单已审批\n\nSO000123\n\n[https://hub/o/1](https://hub/o/1)\n\n@13800000000"
    )


async def test_a_wrong_dingtalk_secret_is_permanent_and_not_shown(ding: FakeDingtalk) -> None:
    r = dingtalk(ding, secret="SECwrong-secret-value")
    with pytest.raises(PermanentError) as e:
        await r.send(Message("t", "b"))
    await r.aclose()
    assert e.value.code == "310000" and ding.requests == 1
    assert "SECwrong-secret-value" not in str(e.value) and TOKEN not in str(e.value)


async def test_dingtalk_too_fast_waits_ten_minutes(ding: FakeDingtalk) -> None:
    ding.per_minute = 1
    r = dingtalk(ding)
    await r.send(Message("1", "b"))
    with pytest.raises(TransientError) as e:
        await r.send(Message("2", "b"))
    await r.aclose()
    assert (e.value.code, e.value.retry_after) == ("130101", 600.0)


async def test_feishu_signs_in_the_body_and_a_wrong_secret_is_permanent(feishu: FakeFeishu) -> None:
    good = feishu_bot(feishu)
    await good.send(Message("订单已发货", "SO000123", mentions=("ou_abc",)))
    await good.aclose()
    [body] = feishu.received
    assert body["msg_type"] == "interactive" and "sign" in body and "timestamp" in body
    assert body["card"]["elements"][0]["content"] == "SO000123\n<at id=ou_abc></at>"
    bad = feishu_bot(feishu, secret="not-the-secret")
    with pytest.raises(PermanentError) as e:
        await bad.send(Message("t", "b"))
    await bad.aclose()
    assert e.value.code == "19021" and HOOK not in str(e.value) and "not-the-secret" not in str(e.value)


async def test_feishu_rate_limit_is_transient(feishu: FakeFeishu) -> None:
    feishu.per_minute = 1
    r = feishu_bot(feishu)
    await r.send(Message("1", "b"))
    with pytest.raises(TransientError) as e:
        await r.send(Message("2", "b"))
    await r.aclose()
    assert (e.value.code, e.value.retry_after) == ("11232", 60.0)


async def test_an_unknown_feishu_hook_is_permanent_without_naming_it(feishu: FakeFeishu) -> None:
    r = FeishuBot(FeishuBot.Settings(hook_id="unknown-hook-xyz", base_url=feishu.url))
    with pytest.raises(PermanentError) as e:
        await r.send(Message("t", "b"))
    await r.aclose()
    assert e.value.code == "404" and "unknown-hook-xyz" not in str(e.value)


async def test_feishu_cuts_a_huge_title_and_a_refused_request_is_permanent(feishu: FakeFeishu) -> None:
    r = feishu_bot(feishu)
    await r.send(Message("标题" * 5000, "b"))  # 30 KB of title: cut, so the bot takes it
    feishu.bad_request_next = 1
    with pytest.raises(PermanentError) as e:
        await r.send(Message("t", "b"))
    await r.aclose()
    assert len(feishu.received[0]["card"]["header"]["title"]["content"].encode()) <= 500
    assert e.value.code == "9499"
