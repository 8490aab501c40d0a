"""The HTTP server ``hub serve`` runs: uvicorn, configured in one place (:func:`uvicorn_config`)
for the CLI and for the tests that start a real server.

uvicorn's httptools protocol puts no bound on a request's head: a 50 MB ``Authorization``
header was read, joined and answered, and five of them took 470 MB. :class:`BoundedHttpTools`
counts the bytes of each request's head (request line and headers) and answers
``431 Request Header Fields Too Large`` and closes the connection once they pass
``HUB_MAX_HEADER_BYTES``, after reading at most one more network read; it also closes a
connection whose head has not arrived ``HUB_BODY_TIMEOUT_SECONDS`` after it started (a client
trickling headers). The body's own deadline is :class:`hub.app.RequestIdAndLimits`'s.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httptools
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from hub.settings import Settings

__all__ = ["BoundedHttpTools", "uvicorn_config"]

_431 = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\ncontent-length: 36\r\nconnection: close\r\n\r\n"
    b"Request header fields are too large\n"
)
_408 = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\ncontent-length: 32\r\nconnection: close\r\n\r\n"
    b"The request did not arrive soon\n"
)


class _HeadTooLarge(Exception):
    """Raised in a parser callback to stop parsing a head over the bound."""


class BoundedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with a size bound and a deadline on each request's head.
    :func:`uvicorn_config` makes a subclass with the settings' values."""

    max_head_bytes = 65_536
    head_timeout = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # bytes arriving now belong to a request's head
        self._head_bytes = 0  # bytes received since this head began (whole reads)
        self._parsed_head = 0  # bytes of request line and headers parsed so far
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()  # a connection that sends nothing at all is closed too

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # HttpToolsProtocol.data_received, refusing a head over the bound (431) instead of
        # answering 400 when on_url/on_header stopped the parser for that reason.
        self._unset_keepalive_if_required()
        if self._in_head:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError:
            if self._head_bytes > self.max_head_bytes:
                self._refuse(_431)
                return
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)
            return
        if self._in_head and self._head_bytes > self.max_head_bytes and not self.transport.is_closing():
            self._refuse(_431)  # the head goes on past the bound: stop reading it

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _count_head(self, size: int) -> None:
        """Counts what the parser made of this head (a head may arrive with its body in one
        read); past the bound it stops the parser, and :meth:`data_received` answers 431."""
        self._parsed_head += size
        if self._parsed_head > self.max_head_bytes:
            self._head_bytes = max(self._head_bytes, self._parsed_head)
            raise _HeadTooLarge

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = self._parsed_head = 0
        if self._head_timer is None:
            self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._disarm_head_timer()
        super().on_headers_complete()

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._in_head and not self.transport.is_closing():
            self._refuse(_408)

    def _refuse(self, answer: bytes) -> None:
        """Answer (unless a response of an earlier request is being written) and close."""
        self._disarm_head_timer()
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(answer)
        self.transport.close()


def uvicorn_config(app: ASGIApp, settings: Settings, **overrides: Any) -> uvicorn.Config:
    """How ``hub serve`` runs ``app``: uvloop and httptools with the head bounds above, proxy
    headers believed only from ``HUB_FORWARDED_ALLOW_IPS``, idle keep-alive connections closed
    after 5 seconds. ``overrides`` are for tests (e.g. ``port=0`` is not allowed by settings)."""
    protocol = type(
        "HubHttpTools",
        (BoundedHttpTools,),
        {"max_head_bytes": settings.max_header_bytes, "head_timeout": float(settings.body_timeout_seconds)},
    )
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "loop": "uvloop",
        "http": protocol,
        "log_level": settings.log_level.lower(),
        "access_log": False,
        "lifespan": "on",
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "timeout_keep_alive": 5,
        # the same bound for h11, if someone runs the app with it
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        **overrides,
    }
    return uvicorn.Config(app, **options)
