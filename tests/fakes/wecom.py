"""A fake WeCom (企业微信) group robot on 127.0.0.1 that speaks the real protocol (PROTOCOLS.md):
``POST /cgi-bin/webhook/send?key=<key>``, HTTP 200 with ``errcode`` even on failure, 20
messages a minute per robot (then errcode 45009), unknown keys 93000, markdown over 4,096
bytes 40058; plus faults on demand (HTTP 500s, slow answers)."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class FakeWecom:
    def __init__(self, keys: set[str], per_minute: int = 20) -> None:
        self.keys = set(keys)
        self.per_minute = per_minute
        self.received: dict[str, list[dict[str, Any]]] = {}
        self.requests = 0
        self.fail_next = 0  # answer HTTP 500 to this many requests
        self.delay = 0.0  # seconds before answering
        self._sent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                fake._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeWecom:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _answer(self, handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        with self._lock:
            self.requests += 1
            failing = self.fail_next > 0
            self.fail_next -= failing
        if self.delay:
            time.sleep(self.delay)
        if failing:
            return self._answer(handler, 500, {"error": "internal"})
        url = urlsplit(handler.path)
        key = parse_qs(url.query).get("key", [""])[0]
        if url.path != "/cgi-bin/webhook/send" or key not in self.keys:
            return self._answer(handler, 200, {"errcode": 93000, "errmsg": "invalid webhook url"})
        try:
            body = json.loads(raw)
            kind = body["msgtype"]
            content = body[kind]["content"]
        except (ValueError, KeyError, TypeError):
            return self._answer(handler, 200, {"errcode": 40008, "errmsg": "invalid message type"})
        if kind == "markdown" and len(content.encode()) > 4096:
            return self._answer(handler, 200, {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"})
        with self._lock:
            window = self._sent.setdefault(key, deque())
            now = time.monotonic()
            while window and now - window[0] > 60:
                window.popleft()
            if len(window) >= self.per_minute:
                return self._answer(handler, 200, {"errcode": 45009, "errmsg": "api freq out of limit"})
            window.append(now)
            self.received.setdefault(key, []).append(body)
        return self._answer(handler, 200, {"errcode": 0, "errmsg": "ok"})
