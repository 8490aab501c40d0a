"""A fake Standard Webhooks receiver on 127.0.0.1 that behaves as PROTOCOLS.md tells a receiver
to ("Inbound webhooks in general"): it verifies ``webhook-signature`` over the raw body with
:func:`connectors.signing.standard_webhooks_verify` before parsing (a bad signature is 401), refuses
timestamps more than 300 s from its clock (400), dedupes on ``webhook-id`` (a redelivery answers
200 and is counted in ``duplicates``, not kept again) and keeps the events in the order they came.
410, 500, 429 with Retry-After and slow answers come from :class:`tests.fakes.base.FakePeer`
(``fail_status``, ``fail_headers``, ``fail_next``, ``delay``)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.signing import TOLERANCE_SECONDS, standard_webhooks_verify
from tests.fakes.base import FakePeer


@dataclass(frozen=True, slots=True)
class Delivery:
    """One request the receiver accepted (duplicates included), as it came."""

    id: str
    timestamp: int
    signature: str
    body: bytes
    query: dict[str, str]
    headers: Mapping[str, str]


class FakeReceiver(FakePeer):
    def __init__(
        self, secret: str, path: str = "/hooks/orders", clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__()
        self.secret = secret
        self.path = path
        self.clock = clock  # the receiver's own clock, to test skew
        self.events: list[dict[str, Any]] = []  # the first delivery of each webhook-id, parsed, in order
        self.ids: list[str] = []  # their webhook-ids, in the same order
        self.deliveries: list[Delivery] = []  # every accepted request, redeliveries included
        self.duplicates = 0
        self.refused: list[int] = []  # the statuses of the requests it refused

    def respond(
        self, path: str, query: dict[str, str], body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        status, answer = self._receive(path, query, body, headers)
        if status >= 300:
            with self.lock:
                self.refused.append(status)
        return status, answer, {}

    def _receive(
        self, path: str, query: dict[str, str], body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, dict[str, Any]]:
        if path != self.path:
            return 404, {"error": "no such endpoint"}
        msg_id = headers.get("webhook-id", "")
        timestamp = headers.get("webhook-timestamp", "")
        signature = headers.get("webhook-signature", "")
        if not msg_id or not signature:
            return 400, {"error": "missing webhook headers"}
        now = self.clock()
        try:
            sent = int(timestamp)
        except ValueError:
            return 400, {"error": "bad webhook-timestamp"}
        if abs(now - sent) > TOLERANCE_SECONDS:
            return 400, {"error": "timestamp too far from now"}
        if not standard_webhooks_verify(self.secret, msg_id, timestamp, signature, body, now):
            return 401, {"error": "bad signature"}
        if not headers.get("content-type", "").startswith("application/json"):
            return 415, {"error": "not JSON"}
        try:
            event = json.loads(body)
        except ValueError:
            return 400, {"error": "body is not JSON"}
        with self.lock:
            self.deliveries.append(Delivery(msg_id, sent, signature, body, query, dict(headers)))
            if msg_id in self.ids:
                self.duplicates += 1
                return 200, {}
            self.ids.append(msg_id)
            self.events.append(event)
        return 200, {}
