"""A fake HTTP peer on 127.0.0.1: a real server in a thread, with faults on demand.

Subclasses answer ``handle(path, query, body)`` with (status, JSON); the base adds request
counting, HTTP 500s for the next ``fail_next`` requests, a ``delay`` before answering, and a
per-key sliding window for rate limits."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
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
        self.delay = 0.0
        self.lock = threading.Lock()
        self._windows: dict[str, deque[float]] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
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

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        with self.lock:
            self.requests += 1
            failing = self.fail_next > 0
            self.fail_next -= failing
        if self.delay:
            time.sleep(self.delay)
        if failing:
            status, answer = 500, {"error": "internal"}
        else:
            url = urlsplit(handler.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            status, answer = self.handle(url.path, query, raw)
        xml = isinstance(answer, bytes)
        data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "text/xml; charset=utf-8" if xml else "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
