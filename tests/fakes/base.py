"""A fake HTTP peer on 127.0.0.1: a real server in a thread, with faults on demand.

Subclasses answer ``handle(path, query, body)`` with (status, JSON); the base adds request
counting (with every request's headers in ``request_headers``), HTTP 500s for the next
``fail_next`` requests (or ``fail_status`` with ``fail_headers``: a 410, a 429 with Retry-After), a
``delay`` before answering, and a per-key sliding window for rate limits. A peer that needs the
request's headers or sets its own (cookies) overrides ``respond`` instead."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout test) closes the connection before the answer.
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakePeer:
    def __init__(self) -> None:
        self.requests = 0
        self.fail_next = 0
        self.fail_status = 500  # the answer to the next ``fail_next`` requests
        self.fail_headers: dict[str, str] = {}  # added to those answers, e.g. {"Retry-After": "30"}
        self.delay = 0.0
        self.request_headers: list[dict[str, str]] = []  # every request's, names in lower case
        self.lock = threading.Lock()
        self._windows: dict[str, deque[float]] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:
                fake._serve(self)

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> Any:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def within_rate(self, key: str, limit: int, period: float = 60.0) -> bool:
        """Counts a call for ``key``; False when it is over ``limit`` in ``period``."""
        with self.lock:
            window = self._windows.setdefault(key, deque())
            now = time.monotonic()
            while window and now - window[0] > period:
                window.popleft()
            if len(window) >= limit:
                return False
            window.append(now)
            return True

    def handle(self, path: str, query: dict[str, str], body: bytes) -> tuple[int, dict[str, Any] | bytes]:
        """(status, a JSON document or raw XML bytes)."""
        raise NotImplementedError

    def respond(
        self, path: str, query: dict[str, str], body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        """(status, a JSON document or raw XML bytes, headers to add to the answer), given the
        request's headers (names in lower case). By default ``handle`` answers, adding none."""
        status, answer = self.handle(path, query, body)
        return status, answer, {}

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self.lock:
            self.requests += 1
            self.request_headers.append(headers)
            failing = self.fail_next > 0
            self.fail_next -= failing
            fail_status, fail_headers = self.fail_status, dict(self.fail_headers)
        if self.delay:
            time.sleep(self.delay)
        extra: dict[str, str] = {}
        if failing:
            phrase = "internal" if fail_status == 500 else HTTPStatus(fail_status).phrase
            status, answer, extra = fail_status, {"error": phrase}, fail_headers
        else:
            url = urlsplit(handler.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            status, answer, extra = self.respond(url.path, query, raw, headers)
        xml = isinstance(answer, bytes)
        data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "text/xml; charset=utf-8" if xml else "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in extra.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)
