"""The WeCom robot notifier against a fake robot on 127.0.0.1 that speaks the real protocol."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.notify import Message
from connectors.notify.testing import NotifierContract
from connectors.notify.wecom import MAX_MARKDOWN_BYTES, WINDOW, WecomRobot
from connectors.sdk import PermanentError, TransientError
from tests.fakes.wecom import FakeWecom

KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"


@pytest.fixture
def fake() -> Iterator[FakeWecom]:
    WINDOW.clear()  # the per-robot window is process-wide
    with FakeWecom({KEY}) as peer:
        yield peer


def robot(fake: FakeWecom, key: str = KEY, **settings: Any) -> WecomRobot:
    return WecomRobot(WecomRobot.Settings(webhook_key=key, base_url=fake.url, **settings))


class TestWecomRobot(NotifierContract):
    @pytest.fixture(autouse=True)
    def _peer(self, fake: FakeWecom) -> None:
        self.fake = fake

    async def make_connector(self) -> WecomRobot:
        return robot(self.fake)

    def delivered(self, connector: Any) -> list[str]:
        return [m["markdown"]["content"] for m in self.fake.received.get(KEY, [])]


async def test_a_message_arrives_as_markdown_with_link_and_mentions(fake: FakeWecom) -> None:
    r = robot(fake)
    await r.send(
        Message(
            "订单 SO000123 已审批", "3 lines, **¥1,200.00**", mentions=("zhangsan",), link="https://hub/o/1"
        )
    )
    await r.aclose()
    [body] = fake.received[KEY]
    assert body["msgtype"] == "markdown"
    assert (
        body["markdown"]["content"]
        == "**订单 SO000123 已审批**\n3 lines, **¥1,200.00**\n[https://hub/o/1](https://hub/o/1)\n<@zhangsan>"
    )


async def test_an_unknown_key_is_permanent_tried_once_and_the_key_never_shows(fake: FakeWecom) -> None:
    r = robot(fake, key="wrong-key-0000")
    with pytest.raises(PermanentError) as e:
        await r.send(Message("t", "b"))
    await r.aclose()
    assert (e.value.code, fake.requests) == ("93000", 1)
    assert "wrong-key-0000" not in str(e.value) and "wrong-key-0000" not in repr(r.settings)


async def test_server_errors_are_retried_in_the_call_then_succeed(fake: FakeWecom) -> None:
    fake.fail_next = 2
    r = robot(fake)
    await r.send(Message("t", "b"))
    await r.aclose()
    assert fake.requests == 3 and len(fake.received[KEY]) == 1


async def test_a_peer_that_keeps_failing_is_transient_after_three_tries(fake: FakeWecom) -> None:
    fake.fail_next = 10
    r = robot(fake)
    with pytest.raises(TransientError, match="HTTP 500"):
        await r.send(Message("t", "b"))
    await r.aclose()
    assert fake.requests == 3 and KEY not in fake.received


async def test_the_robots_rate_limit_is_transient_with_a_minute_to_wait(fake: FakeWecom) -> None:
    fake.per_minute = 2
    r = robot(fake)
    await r.send(Message("1", "b"))
    await r.send(Message("2", "b"))
    with pytest.raises(TransientError) as e:
        await r.send(Message("3", "b"))
    await r.aclose()
    assert (e.value.code, e.value.retry_after, fake.requests) == ("45009", 60.0, 3)  # not retried in the call


async def test_the_notifier_keeps_its_own_count_and_waits_instead_of_calling(fake: FakeWecom) -> None:
    r = robot(fake, per_minute=3)
    for n in range(3):
        await r.send(Message(str(n), "b"))
    started = time.monotonic()
    with pytest.raises(TransientError) as e:
        await r.send(Message("4", "b"))
    await r.aclose()
    assert fake.requests == 3  # the fourth never left the process
    assert 0 < e.value.retry_after <= 60 and time.monotonic() - started < 1


async def test_a_slow_robot_is_a_transient_timeout_not_repeated_in_the_call(fake: FakeWecom) -> None:
    # the robot may post a message it answered too late: sending it again at once would post it twice
    fake.delay = 0.5
    r = robot(fake, timeout=0.1)
    with pytest.raises(TransientError, match="no answer in time"):
        await r.send(Message("t", "b"))
    await r.aclose()
    assert fake.requests == 1


async def test_robot_keys_stay_out_of_the_log(fake: FakeWecom, caplog: pytest.LogCaptureFixture) -> None:
    # given the hub's logging at INFO (httpx logs each request's URL at INFO)
    from hub.cli import _logging
    from hub.settings import Settings

    _logging(Settings(log_level="INFO"))
    caplog.set_level(logging.INFO)
    r = robot(fake)
    await r.send(Message("t", "b"))
    await r.aclose()
    assert fake.received[KEY] and KEY not in caplog.text


async def test_long_markdown_is_cut_to_the_limit_on_a_character_boundary(fake: FakeWecom) -> None:
    r = robot(fake)
    await r.send(Message("长", "汉字" * 3000))
    await r.aclose()
    content = fake.received[KEY][0]["markdown"]["content"]
    assert len(content.encode()) <= MAX_MARKDOWN_BYTES and content.endswith("…")


async def test_check_posts_a_test_message(fake: FakeWecom) -> None:
    r = robot(fake)
    result = await r.check()
    await r.aclose()
    assert result.ok and "connectivity check" in fake.received[KEY][0]["markdown"]["content"]
