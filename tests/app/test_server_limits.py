"""Header size and slow-request bounds, against a real uvicorn server configured as ``hub serve``
configures it (:func:`hub.server.uvicorn_config`), over real sockets (issue 9, item 2)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import uvicorn

from hub.app import create_app
from hub.server import uvicorn_config
from hub.settings import Settings


@contextlib.contextmanager
def serving(settings: Settings) -> Iterator[int]:
    """``hub serve``'s server for ``settings`` in a thread, on a free port (yielded)."""
    app = create_app(settings, run_jobs=False)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app, settings, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()


@pytest.fixture
def server_settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'hub.db'}",
        secret_key="test-secret-key-0123456789-abcdefghijklmnop",
        body_timeout_seconds=1,
        log_level="WARNING",
    )


def _exchange(port: int, head: bytes, body: bytes = b"", wait: float = 15.0) -> bytes | None:
    """Send ``head`` and ``body``, then read until the server closes the connection (or sends a
    whole response). None when the server reset the connection while we were still sending."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as conn:
        try:
            conn.sendall(head + body)
        except (BrokenPipeError, ConnectionResetError):
            return None
        answer = b""
        try:
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    return answer
                answer += chunk
                if b"\r\n\r\n" in answer and answer.startswith(b"HTTP/1.1 200"):
                    return answer  # a keep-alive answer: the connection stays open
        except ConnectionResetError:
            return answer or None


def _get_with_header(size: int) -> bytes:
    return (
        b"GET /healthz HTTP/1.1\r\nHost: hub.test\r\nAuthorization: Bearer "
        + b"x" * size
        + b"\r\nConnection: close\r\n\r\n"
    )


def test_an_oversized_header_gets_431_and_the_connection_is_closed(server_settings: Settings) -> None:
    with serving(server_settings) as port:
        # a header just under HUB_MAX_HEADER_BYTES (64 KiB) is served
        ok = _exchange(port, _get_with_header(60_000))
        assert ok is not None and ok.startswith(b"HTTP/1.1 200"), ok and ok[:200]
        # one of 100 KB is refused with 431 and the connection closed
        refused = _exchange(port, _get_with_header(100_000))
        assert refused is not None and refused.startswith(b"HTTP/1.1 431"), refused and refused[:200]
        # and a 50 MB one is not read to its end: the server stops reading and closes the
        # connection, so sending it fails (or, if it all fit in socket buffers, 431)
        huge = _exchange(port, _get_with_header(50_000_000))
        assert huge is None or huge.startswith(b"HTTP/1.1 431"), huge[:200]
        # the server still serves others
        again = _exchange(port, _get_with_header(10))
        assert again is not None and again.startswith(b"HTTP/1.1 200")


def test_a_smaller_header_limit_comes_from_the_setting(server_settings: Settings) -> None:
    with serving(replace(server_settings, max_header_bytes=8_192)) as port:
        refused = _exchange(port, _get_with_header(10_000))
        assert refused is not None and refused.startswith(b"HTTP/1.1 431"), refused and refused[:200]


def test_a_stalled_body_gets_408_and_the_connection_is_closed(server_settings: Settings) -> None:
    # given a client that sends the headers and part of a body, then nothing
    head = (
        b"POST /graphql HTTP/1.1\r\nHost: hub.test\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n"
    )
    with serving(server_settings) as port:
        answer = _exchange(port, head, b'{"query": "{ me {')
    # then after HUB_BODY_TIMEOUT_SECONDS it is answered 408 and the server closes the connection
    # (_exchange returns only when the server closes it)
    assert answer is not None and answer.startswith(b"HTTP/1.1 408"), answer
    assert b"connection: close" in answer.lower()
    assert b"not received within 1 seconds" in answer


def test_a_stalled_head_is_closed(server_settings: Settings) -> None:
    # given a client that sends a request line and one header, then nothing
    with serving(server_settings) as port:
        answer = _exchange(port, b"POST /graphql HTTP/1.1\r\nHost: hub.test\r\n")
    # then the server answers 408 and closes the connection
    assert answer is not None and answer.startswith(b"HTTP/1.1 408"), answer


def test_a_whole_request_is_still_served(server_settings: Settings) -> None:
    body = b'{"query": "{ me { email } }"}'
    head = (
        b"POST /graphql HTTP/1.1\r\nHost: hub.test\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    with serving(server_settings) as port:
        answer = _exchange(port, head, body)
    assert answer is not None and answer.startswith(b"HTTP/1.1 200"), answer
    assert answer.endswith(b'{"data":{"me":null}}')


def _login_messages(port: int, forwarded_for: str, times: int) -> list[str]:
    query = (
        'mutation { tokenCreate(email: "nobody@test.hub", password: "guess-guess") { errors { message } } }'
    )
    messages = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        for _ in range(times):
            response = client.post(
                "/graphql", json={"query": query}, headers={"x-forwarded-for": forwarded_for}
            )
            messages.append(response.json()["data"]["tokenCreate"]["errors"][0]["message"])
    return messages


WRONG, THROTTLED = "Email or password is wrong", "Too many failed attempts; try again in a few minutes"


def test_the_client_address_comes_from_a_trusted_proxy_only(settings: Settings) -> None:
    # given the server trusting X-Forwarded-For from 127.0.0.1 (the default), where the test is
    with serving(settings) as port:
        # when one forwarded client fails six times, then it is throttled, and another is not
        assert _login_messages(port, "192.0.2.1", 6) == [WRONG] * 5 + [THROTTLED]
        assert _login_messages(port, "192.0.2.2", 1) == [WRONG]
    # given a server that trusts only another proxy
    with serving(replace(settings, forwarded_allow_ips="10.9.9.9")) as port:
        # then the header is ignored: all the failures count for the connection's own address
        assert _login_messages(port, "192.0.2.3", 5) == [WRONG] * 5
        assert _login_messages(port, "192.0.2.4", 1) == [THROTTLED]
