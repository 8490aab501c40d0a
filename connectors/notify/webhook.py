"""``webhook``: a generic outbound webhook, signed per the Standard Webhooks spec, so a customer's
own system can subscribe to its order events.

One ``POST <url>`` per event, with a compact JSON body (UTF-8)::

    {"type":"order.approved","timestamp":"2026-11-25T08:00:00Z",
     "data":{"orderId":42,"title":"Order SO000042 approved","text":"3 lines","link":"https://…"}}

- ``type``: the event's type (:class:`~connectors.notify.EventInfo`); ``"message"`` for a message
  with no event behind it; ``"hub.ping"`` for ``check()``.
- ``timestamp``: when the event happened, ISO-8601 in UTC with ``Z`` (a naive time is taken as
  UTC); for a message with no event, when it was sent.
- ``data``: the event's data, plus the message's ``title``, ``text`` (its markdown) and ``link``
  (``null`` when there is none). These three names are reserved: they always carry the message.
  Decimals are sent as exact strings (``"20.69"``, never a float), datetimes as ISO-8601 strings.
  Mentions are chat-tool ids and are not sent.

Headers: ``webhook-id`` (the event's id, the same on every delivery of the event, so receivers
dedupe on it), ``webhook-timestamp`` (integer seconds, fresh on every attempt),
``webhook-signature`` (``v1,`` + base64 of HMAC-SHA256 over ``"{id}.{timestamp}.{body}"`` with the
key in ``secret``, :func:`connectors.signing.standard_webhooks_sign`), ``content-type:
application/json``, ``user-agent: ordering-hub-webhooks/1``.

A message with no event gets the id ``msg_`` + the first 32 hex digits of SHA-256 over the compact
JSON of ``[title, markdown, link]`` (:func:`message_id`): sending the same message again is the
same event, and a receiver keeps one. Give messages that must all arrive an event with its own id.

Delivery: any 2xx is delivered. 429 (with its ``Retry-After``), 5xx, timeouts and connection
errors are transient; the quick ones are retried in the call (:class:`~connectors.http.HttpPeer`),
but a timeout after the body was sent is left to the hub's job, as for the chat robots. 410 Gone
means the receiver unsubscribed: permanent. Any other 4xx, and a redirect (not followed: configure
the final URL), are permanent and named by their status only. Messages name the receiver's host,
never the URL's path or query (they may hold tokens) nor the secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from datetime import time as clock_time
from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx
from pydantic import ConfigDict, Field, field_validator

from connectors.http import HttpPeer
from connectors.notify import EventInfo, Message
from connectors.sdk import CheckResult, ConnectorSettings, PermanentError, SecretStr
from connectors.signing import standard_webhooks_sign

__all__ = ["USER_AGENT", "WebhookNotifier", "WebhookSettings", "message_id", "render"]

USER_AGENT = "ordering-hub-webhooks/1"
MIN_KEY_BYTES, MAX_KEY_BYTES = 24, 64  # what the Standard Webhooks spec allows
_EVENT_ID = re.compile(r"[\x21-\x7e]{1,256}")  # printable ASCII: it travels in a header


class WebhookSettings(ConnectorSettings):
    # the URL may carry a token in its path or query: kept secret, and no input is ever repeated
    model_config = ConfigDict(hide_input_in_errors=True)

    url: SecretStr
    secret: SecretStr
    timeout: float = Field(10.0, gt=0, le=60)
    event_types: list[str] = Field(default_factory=list)  # empty: every event

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: SecretStr) -> SecretStr:
        text = value.get_secret_value().strip()
        try:
            url = httpx.URL(text)
        except (httpx.InvalidURL, ValueError, TypeError):
            url = None
        if url is None or url.scheme not in ("http", "https") or not url.host:
            raise ValueError("must be an http:// or https:// URL with a host")
        return SecretStr(text)

    @field_validator("secret")
    @classmethod
    def _whsec(cls, value: SecretStr) -> SecretStr:
        text = value.get_secret_value().strip()
        key = b""
        if text.startswith("whsec_"):
            try:
                key = base64.b64decode(text.removeprefix("whsec_"), validate=True)
            except (binascii.Error, ValueError):
                key = b""
        if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
            raise ValueError(
                f"must be 'whsec_' followed by the base64 of a {MIN_KEY_BYTES} to {MAX_KEY_BYTES} byte key"
            )
        return SecretStr(text)

    @field_validator("event_types", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        # from the environment: HUB_CONNECTOR_<ROLE>__EVENT_TYPES=order.placed,order.approved
        return value.split(",") if isinstance(value, str) else value

    @field_validator("event_types")
    @classmethod
    def _named(cls, value: list[str]) -> list[str]:
        names = [name.strip() for name in value]
        if not all(names):
            raise ValueError("an event type must not be empty")
        return names


def _utc(moment: datetime) -> str:
    """ISO-8601 in UTC with ``Z``; a naive datetime is taken as UTC."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.isoformat().replace("+00:00", "Z")


def _json_value(value: object) -> object:
    if isinstance(value, Decimal):
        return format(value, "f")  # exact and never in exponent notation: Decimal("1E+2") -> "100"
    if isinstance(value, datetime):
        return _utc(value)
    if isinstance(value, date | clock_time):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"a {type(value).__name__} is not JSON")


def _compact(document: object) -> bytes:
    return json.dumps(
        document, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_json_value
    ).encode()


def message_id(message: Message) -> str:
    """The id of a message with no event: ``msg_`` + the first 32 hex digits of SHA-256 over the
    compact JSON of ``[title, markdown, link]``. The same message always has the same id."""
    digest = hashlib.sha256(_compact([message.title, message.markdown, message.link])).hexdigest()
    return f"msg_{digest[:32]}"


def render(event: EventInfo, message: Message) -> bytes:
    """The exact body bytes: ``{"type", "timestamp", "data"}`` as compact UTF-8 JSON.

    Raises:
        PermanentError: the event's data holds a value that cannot be sent as JSON.
    """
    data = {**event.data, "title": message.title, "text": message.markdown, "link": message.link}
    try:
        return _compact({"type": event.type, "timestamp": _utc(event.occurred_at), "data": data})
    except (TypeError, ValueError) as e:
        raise PermanentError(f"the {event.type} event's data cannot be sent as JSON ({e})") from None


class WebhookNotifier:
    """Posts each event to one receiver, signed per Standard Webhooks (see the module's text)."""

    Settings = WebhookSettings
    # One request per event, each with its own webhook-id: the hub never digests these.
    digest = False

    def __init__(self, settings: WebhookSettings) -> None:
        self.settings = settings
        url = httpx.URL(settings.url.get_secret_value())
        self._path = url.raw_path.decode("ascii")  # path and query, sent as given
        self.peer = HttpPeer(str(url.copy_with(raw_path=b"/", fragment=None)), timeout=settings.timeout)
        self.clock: Callable[[], float] = time.time  # seconds; tests may move it

    async def aclose(self) -> None:
        await self.peer.aclose()

    async def check(self) -> CheckResult:
        """Deliver a signed ``hub.ping`` event (its own id each time; not filtered by
        ``event_types``)."""
        ping = EventInfo(f"ping_{uuid.uuid4().hex}", "hub.ping", datetime.now(UTC))
        text = "This endpoint can receive the ordering hub's signed events."
        await self._deliver(ping, Message("Ordering hub: connectivity check", text, event=ping))
        return CheckResult(True, f"delivered a signed ping to {self.peer.host}")

    async def send(self, message: Message) -> None:
        """Deliver the message's event (or a ``"message"`` event) unless ``event_types`` leaves
        its type out.

        Raises:
            TransientError: 429, 5xx, a timeout or no connection; try again later.
            PermanentError: 410 (unsubscribed), another 4xx, a redirect, or data that is not JSON.
        """
        event = message.event or EventInfo(message_id(message), "message", datetime.now(UTC))
        if self.settings.event_types and event.type not in self.settings.event_types:
            return
        await self._deliver(event, message)

    async def _deliver(self, event: EventInfo, message: Message) -> None:
        if not _EVENT_ID.fullmatch(event.id):
            raise PermanentError("an event id must be 1 to 256 printable ASCII characters without spaces")
        body = render(event, message)
        secret = self.settings.secret.get_secret_value()

        def headers() -> dict[str, str]:  # called again for every attempt: a fresh timestamp
            timestamp = int(self.clock())
            return {
                "content-type": "application/json",
                "user-agent": USER_AGENT,
                "webhook-id": event.id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": standard_webhooks_sign(secret, event.id, timestamp, body),
            }

        try:
            await self.peer.post_bytes(self._path, body, headers=headers)
        except PermanentError as e:
            if e.code == "410":
                raise PermanentError(
                    f"{self.peer.host}: the receiver unsubscribed (HTTP 410)", code="410"
                ) from None
            raise
