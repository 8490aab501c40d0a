"""The Standard Webhooks notifier against a fake receiver on 127.0.0.1 that verifies signatures,
refuses stale timestamps and dedupes on webhook-id (the reference vector is in test_signing.py)."""

from __future__ import annotations

import base64
import json
import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from connectors.notify import EventInfo, Message
from connectors.notify.testing import NotifierContract
from connectors.notify.webhook import USER_AGENT, WebhookNotifier, message_id
from connectors.sdk import ConnectorError, PermanentError, TransientError
from connectors.signing import standard_webhooks_sign, standard_webhooks_verify
from tests.fakes.webhook import FakeReceiver

SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # 32 bytes
OTHER = "whsec_ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM="
PATH = "/hooks/s3cr3t-path"  # a receiver's URL may carry tokens in its path and query
TOKEN = "t0k3n-in-query"
APPROVED = EventInfo(
    "evt_0001", "order.approved", datetime(2026, 11, 25, 8, 0, tzinfo=UTC), {"orderId": 42, "customerId": 7}
)


@pytest.fixture
def fake() -> Iterator[FakeReceiver]:
    with FakeReceiver(SECRET, path=PATH) as receiver:
        yield receiver


def notifier(fake: FakeReceiver, secret: str = SECRET, **settings: Any) -> WebhookNotifier:
    url = f"{fake.url}{PATH}?token={TOKEN}"
    return WebhookNotifier(WebhookNotifier.Settings(url=url, secret=secret, **settings))


def approved(event: EventInfo = APPROVED) -> Message:
    return Message("Order SO000042 approved", "3 lines, **¥1,200.00**", link="https://hub/o/42", event=event)


class TestWebhookNotifier(NotifierContract):
    @pytest.fixture(autouse=True)
    def _peer(self, fake: FakeReceiver) -> None:
        self.fake = fake

    async def make_connector(self) -> WebhookNotifier:
        return notifier(self.fake)

    def delivered(self, connector: Any) -> list[str]:
        return [f"{e['data']['title']}\n{e['data']['text']}" for e in self.fake.events]


async def test_an_event_arrives_as_compact_json_with_the_standard_webhooks_headers(
    fake: FakeReceiver,
) -> None:
    # given a notifier for the receiver
    n = notifier(fake)
    # when an approved order's event is sent
    await n.send(approved())
    await n.aclose()
    # then the receiver got exactly these bytes, under the event's id, with the token in the query
    [delivery] = fake.deliveries
    assert (
        delivery.body
        == (
            '{"type":"order.approved","timestamp":"2026-11-25T08:00:00Z","data":{"orderId":42,"customerId":7,'
            '"title":"Order SO000042 approved","text":"3 lines, **¥1,200.00**","link":"https://hub/o/42"}}'
        ).encode()
    )
    assert (delivery.id, delivery.query) == ("evt_0001", {"token": TOKEN})
    assert delivery.headers["content-type"] == "application/json"
    assert delivery.headers["user-agent"] == USER_AGENT == "ordering-hub-webhooks/1"
    assert fake.ids == ["evt_0001"] and fake.events[0]["type"] == "order.approved"


async def test_the_signature_covers_the_bytes_sent_and_verifies_only_with_the_receivers_secret(
    fake: FakeReceiver,
) -> None:
    n = notifier(fake)
    await n.send(approved())
    await n.aclose()
    [d] = fake.deliveries
    # the bytes signed are exactly the bytes sent
    assert d.signature == standard_webhooks_sign(SECRET, d.id, d.timestamp, d.body)
    assert d.signature.startswith("v1,")
    assert standard_webhooks_verify(SECRET, d.id, str(d.timestamp), d.signature, d.body, d.timestamp)
    assert not standard_webhooks_verify(OTHER, d.id, str(d.timestamp), d.signature, d.body, d.timestamp)
    assert not standard_webhooks_verify(
        SECRET, d.id, str(d.timestamp), d.signature, d.body + b" ", d.timestamp
    )


async def test_a_receiver_with_another_secret_refuses_it_and_that_is_permanent(fake: FakeReceiver) -> None:
    n = notifier(fake, secret=OTHER)
    with pytest.raises(PermanentError) as e:
        await n.send(approved())
    await n.aclose()
    assert (e.value.message, e.value.code) == ("127.0.0.1: HTTP 401", "401")
    assert (fake.requests, fake.refused, fake.events) == (1, [401], [])


async def test_a_receiver_whose_clock_is_off_by_more_than_300_s_refuses_it(fake: FakeReceiver) -> None:
    n = notifier(fake)
    n.clock = lambda: datetime.now(UTC).timestamp() - 301
    with pytest.raises(PermanentError, match="HTTP 400"):
        await n.send(approved())
    await n.aclose()
    assert fake.refused == [400] and fake.events == []


async def test_the_same_event_sent_twice_carries_one_id_and_the_receiver_keeps_one(
    fake: FakeReceiver,
) -> None:
    # given an event already delivered
    n = notifier(fake)
    await n.send(approved())
    # when the hub's job sends it again (a retry after a lost answer)
    await n.send(approved())
    await n.aclose()
    # then both carried the event's id and the receiver kept one
    assert [d.id for d in fake.deliveries] == ["evt_0001", "evt_0001"]
    assert (len(fake.events), fake.duplicates) == (1, 1)


async def test_a_message_without_an_event_is_a_message_event_with_an_id_derived_from_it(
    fake: FakeReceiver,
) -> None:
    n = notifier(fake)
    first = Message("Stock low", "SKU-1: 3 left", link="https://hub/p/1")
    await n.send(first)
    await n.send(Message("Stock low", "SKU-1: 3 left", link="https://hub/p/1"))
    await n.send(Message("Stock low", "SKU-2: 1 left", link="https://hub/p/2"))
    await n.aclose()
    assert fake.ids == [
        message_id(first),
        message_id(Message("Stock low", "SKU-2: 1 left", link="https://hub/p/2")),
    ]
    assert fake.ids[0].startswith("msg_") and len(fake.ids[0]) == 36 and fake.duplicates == 1
    assert fake.events[0]["type"] == "message"
    assert fake.events[0]["data"] == {
        "title": "Stock low",
        "text": "SKU-1: 3 left",
        "link": "https://hub/p/1",
    }
    sent = datetime.fromisoformat(fake.events[0]["timestamp"])
    assert fake.events[0]["timestamp"].endswith("Z") and abs(datetime.now(UTC) - sent) < timedelta(minutes=1)


async def test_server_errors_are_retried_in_the_call_with_the_same_id_and_a_fresh_timestamp(
    fake: FakeReceiver,
) -> None:
    # given a receiver that fails twice, and a clock that moves a second per attempt
    fake.fail_next = 2
    n = notifier(fake)
    start = int(datetime.now(UTC).timestamp())
    ticks = iter(range(start, start + 10))
    n.clock = lambda: next(ticks)
    # when the event is sent
    await n.send(approved())
    await n.aclose()
    # then three attempts carried one id, each its own timestamp, and the receiver kept one event
    attempts = fake.request_headers
    assert [h["webhook-id"] for h in attempts] == ["evt_0001"] * 3
    assert [int(h["webhook-timestamp"]) for h in attempts] == [start, start + 1, start + 2]
    assert len(fake.events) == 1 and fake.deliveries[0].timestamp == start + 2


async def test_a_receiver_that_keeps_failing_is_transient_after_three_tries(fake: FakeReceiver) -> None:
    fake.fail_next = 10
    n = notifier(fake)
    with pytest.raises(TransientError, match="HTTP 500"):
        await n.send(approved())
    await n.aclose()
    assert fake.requests == 3 and fake.events == []


async def test_429_is_transient_with_the_receivers_retry_after_and_not_retried_in_the_call(
    fake: FakeReceiver,
) -> None:
    fake.fail_next, fake.fail_status, fake.fail_headers = 1, 429, {"Retry-After": "30"}
    n = notifier(fake)
    with pytest.raises(TransientError) as e:
        await n.send(approved())
    await n.aclose()
    assert (e.value.retry_after, fake.requests) == (30.0, 1)


async def test_410_gone_means_the_receiver_unsubscribed_and_is_permanent(fake: FakeReceiver) -> None:
    fake.fail_next, fake.fail_status = 1, 410
    n = notifier(fake)
    with pytest.raises(PermanentError) as e:
        await n.send(approved())
    await n.aclose()
    assert (e.value.message, e.value.code, fake.requests) == (
        "127.0.0.1: the receiver unsubscribed (HTTP 410)",
        "410",
        1,
    )


@pytest.mark.parametrize("status", [400, 404, 422])
async def test_other_4xx_are_permanent_and_named_by_their_status_only(
    fake: FakeReceiver, status: int
) -> None:
    fake.fail_next, fake.fail_status = 1, status
    n = notifier(fake)
    with pytest.raises(PermanentError) as e:
        await n.send(approved())
    await n.aclose()
    assert (e.value.message, e.value.code, fake.requests) == (f"127.0.0.1: HTTP {status}", str(status), 1)


async def test_a_redirect_is_not_followed_and_not_a_delivery(fake: FakeReceiver) -> None:
    fake.fail_next, fake.fail_status, fake.fail_headers = 1, 301, {"Location": "https://elsewhere/hooks"}
    n = notifier(fake)
    with pytest.raises(PermanentError, match=r"HTTP 301 \(redirects are not followed"):
        await n.send(approved())
    await n.aclose()
    assert fake.requests == 1


async def test_a_slow_receiver_is_a_transient_timeout_not_repeated_in_the_call(fake: FakeReceiver) -> None:
    # it may have received the event: the hub's job retries it later, with the same id
    fake.delay = 0.5
    n = notifier(fake, timeout=0.1)
    with pytest.raises(TransientError, match="no answer in time"):
        await n.send(approved())
    await n.aclose()
    assert fake.requests == 1


async def test_only_the_subscribed_event_types_are_sent(fake: FakeReceiver) -> None:
    # given a subscription narrowed to approvals
    n = notifier(fake, event_types=["order.approved"])
    placed = EventInfo("evt_0002", "order.placed", datetime(2026, 11, 25, 7, 0, tzinfo=UTC), {"orderId": 42})
    # when a placed order, a plain message and an approval are sent
    await n.send(approved(placed))
    await n.send(Message("Stock low", "SKU-1"))
    await n.send(approved())
    await n.aclose()
    # then only the approval left the process
    assert fake.requests == 1 and fake.ids == ["evt_0001"]


def test_event_types_may_come_from_the_environment_comma_separated() -> None:
    settings = WebhookNotifier.Settings(
        url="https://hooks.example.com/in", secret=SECRET, event_types=" order.placed, order.approved"
    )
    assert settings.event_types == ["order.placed", "order.approved"]


async def test_decimals_are_exact_strings_and_datetimes_iso_never_floats(fake: FakeReceiver) -> None:
    beijing = timezone(timedelta(hours=8))
    data = {
        "total": Decimal("20.690"),
        "hundred": Decimal("1E+2"),
        "tiny": Decimal("0.1000000000000000055511151231257827"),
        "shippedAt": datetime(2026, 11, 25, 16, 0, tzinfo=beijing),
        "lines": [{"sku": "SKU-1", "price": Decimal("0.10")}],
    }
    event = EventInfo("evt_0003", "order.placed", datetime(2026, 11, 25, 16, 0, tzinfo=beijing), data)
    n = notifier(fake)
    await n.send(approved(event))
    await n.aclose()
    [d] = fake.deliveries
    assert b'"total":"20.690"' in d.body and b'"hundred":"100"' in d.body and b'"price":"0.10"' in d.body
    sent = json.loads(d.body, parse_float=lambda text: pytest.fail(f"a float in the body: {text}"))
    assert sent["data"]["tiny"] == "0.1000000000000000055511151231257827"
    assert sent["timestamp"] == sent["data"]["shippedAt"] == "2026-11-25T08:00:00Z"


async def test_data_that_is_not_json_is_permanent_and_nothing_is_sent(fake: FakeReceiver) -> None:
    event = EventInfo("evt_0004", "order.placed", datetime(2026, 11, 25, tzinfo=UTC), {"blob": object()})
    n = notifier(fake)
    with pytest.raises(PermanentError, match="cannot be sent as JSON"):
        await n.send(approved(event))
    await n.aclose()
    assert fake.requests == 0


async def test_check_delivers_a_signed_ping_and_names_only_the_host(fake: FakeReceiver) -> None:
    # given a subscription narrowed to approvals: a check is delivered all the same
    n = notifier(fake, event_types=["order.approved"])
    first = await n.check()
    second = await n.check()
    await n.aclose()
    assert (first.ok, first.detail) == (True, "delivered a signed ping to 127.0.0.1")
    assert [e["type"] for e in fake.events] == ["hub.ping", "hub.ping"]
    assert fake.ids[0] != fake.ids[1] and fake.duplicates == 0  # each check is its own event
    assert second.detail == first.detail


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("status", "headers", "delay", "secret"),
    [
        (500, {}, 0.0, SECRET),
        (429, {"Retry-After": "30"}, 0.0, SECRET),
        (410, {}, 0.0, SECRET),
        (400, {}, 0.0, SECRET),
        (None, {}, 0.5, SECRET),  # timeout
        (None, {}, 0.0, OTHER),  # refused signature
        (None, {}, 0.0, "unreachable"),
    ],
    ids=["500", "429", "410", "400", "timeout", "401", "unreachable"],
)
async def test_no_error_names_the_url_path_query_or_secret(
    fake: FakeReceiver, status: int | None, headers: dict[str, str], delay: float, secret: str
) -> None:
    if status is not None:
        fake.fail_next, fake.fail_status, fake.fail_headers = 10, status, headers
    fake.delay = delay
    if secret == "unreachable":
        url = f"http://127.0.0.1:{_closed_port()}{PATH}?token={TOKEN}"
        n = WebhookNotifier(WebhookNotifier.Settings(url=url, secret=SECRET, timeout=0.2))
    else:
        n = notifier(fake, secret=secret, timeout=0.2)
    with pytest.raises(ConnectorError) as e:
        await n.send(approved())
    await n.aclose()
    text = f"{e.value} {e.value!r} {e.value.message} {n.settings!r} {n.settings}"
    for hidden in (PATH, "s3cr3t", TOKEN, SECRET, SECRET.removeprefix("whsec_"), OTHER):
        assert hidden not in text
    assert "127.0.0.1" in e.value.message


async def test_the_url_and_secret_stay_out_of_the_log(
    fake: FakeReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    # given the hub's logging at INFO (httpx logs each request's URL at INFO)
    from hub.cli import _logging
    from hub.settings import Settings

    _logging(Settings(log_level="INFO"))
    caplog.set_level(logging.INFO)
    n = notifier(fake)
    await n.send(approved())
    await n.aclose()
    assert fake.events and "s3cr3t" not in caplog.text and TOKEN not in caplog.text


def _key(n: int) -> str:
    return "whsec_" + base64.b64encode(b"k" * n).decode()


@pytest.mark.parametrize(
    "secret",
    [
        "plain-shared-secret-value",
        base64.b64encode(b"k" * 32).decode(),  # no whsec_ prefix
        "whsec_not*base64*at*all*hidden",
        _key(23),  # too short
        _key(65),  # too long
        "whsec_",
    ],
    ids=["plain", "no-prefix", "not-base64", "23-bytes", "65-bytes", "empty-key"],
)
def test_a_bad_secret_is_refused_at_start_up_without_repeating_it(secret: str) -> None:
    with pytest.raises(ValidationError) as e:
        WebhookNotifier.Settings(url="https://hooks.example.com/in", secret=secret)
    [error] = e.value.errors()
    assert error["loc"] == ("secret",)
    assert "whsec_" in error["msg"] and "24 to 64 byte key" in error["msg"]
    hidden = secret.removeprefix("whsec_")
    shown = str(e.value) + repr(e.value) + json.dumps(e.value.errors(include_input=False), default=str)
    assert not hidden or hidden not in shown


@pytest.mark.parametrize("length", [24, 64])
def test_keys_of_24_to_64_bytes_are_accepted(length: int) -> None:
    settings = WebhookNotifier.Settings(url="https://hooks.example.com/in", secret=_key(length))
    assert settings.secret.get_secret_value() == _key(length)


@pytest.mark.parametrize(
    "url",
    [
        "hooks.example.com/in?token=t0k3n-hidden",
        "ftp://hooks.example.com/in?token=t0k3n-hidden",
        "https:///in?token=t0k3n-hidden",
        "not a url t0k3n-hidden",
        "http://[::1/t0k3n-hidden",
    ],
    ids=["no-scheme", "ftp", "no-host", "words", "unparseable"],
)
def test_a_url_that_is_not_http_is_refused_without_repeating_it(url: str) -> None:
    with pytest.raises(ValidationError) as e:
        WebhookNotifier.Settings(url=url, secret=SECRET)
    [error] = e.value.errors()
    assert error["loc"] == ("url",) and "http:// or https:// URL" in error["msg"]
    assert "t0k3n" not in str(e.value) + repr(e.value) + json.dumps(
        e.value.errors(include_input=False), default=str
    )


def test_the_url_and_the_secret_are_masked_in_the_settings() -> None:
    settings = WebhookNotifier.Settings(url=f"https://hooks.example.com{PATH}?token={TOKEN}", secret=SECRET)
    shown = f"{settings!r} {settings} {settings.model_dump()}"
    assert "s3cr3t" not in shown and TOKEN not in shown and SECRET not in shown


def test_the_hubs_start_up_error_names_the_setting_never_the_value() -> None:
    # given a connector file with the URL, and a short secret in the environment
    from connectors.config import ConnectorConfigError, parse_config

    data = {
        "connectors": {
            "notify": {"acme": {"connector": "webhook", "url": f"https://h.example{PATH}?token={TOKEN}"}}
        }
    }
    environ = {"HUB_CONNECTOR_NOTIFY_ACME__SECRET": "whsec_c2hvcnQta2V5"}
    # when the hub validates it at start-up, then one line names the role and the setting only
    with pytest.raises(ConnectorConfigError) as e:
        parse_config(data, environ, "hub.toml")
    assert str(e.value) == (
        "hub.toml: [connectors.notify.acme] (webhook): secret: "
        "Value error, must be 'whsec_' followed by the base64 of a 24 to 64 byte key"
    )
    # and with a good secret, event types from the environment narrow the subscription
    environ = {
        "HUB_CONNECTOR_NOTIFY_ACME__SECRET": SECRET,
        "HUB_CONNECTOR_NOTIFY_ACME__EVENT_TYPES": "order.placed",
    }
    instance = parse_config(data, environ, "hub.toml")["notify.acme"]
    assert instance.settings.event_types == ["order.placed"]
