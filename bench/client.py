"""Minimal HTTP/1.1 keep-alive client of the load generator: an asyncio Protocol over uvloop,
requests framed with Content-Length, responses parsed by Content-Length (chunked as a
fallback), one future per request and one watchdog timer for all clients (see
:func:`bench.scenarios.run_phase`) instead of a timer per request."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import orjson

REQUEST_TIMEOUT = 30.0


class HttpResponseError(Exception):
    """The bytes that came back are not an HTTP/1.1 response this client understands."""


class _HttpProtocol(asyncio.Protocol):
    """Buffers what arrives and completes the pending request's future once the whole
    response (head + Content-Length body, or a chunked body) is in: one future and no
    per-request timer per request, to keep the client's CPU per request low."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.waiter is not None:
            self._complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.fail(exc or ConnectionResetError("connection closed by the server"))

    def fail(self, exc: BaseException) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def _complete(self) -> None:
        buf = self.buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(buf[: end + 2]).lower()
        try:
            if head[:5] != b"http/":
                raise HttpResponseError(f"not an HTTP response: {head[:40]!r}")
            status = int(head[9:12])
            i = head.find(b"\r\ncontent-length:")
            if i >= 0:
                n = int(head[i + 17 : head.index(b"\r\n", i + 2)])
                if len(buf) < end + 4 + n:
                    return
                body = bytes(buf[end + 4 : end + 4 + n])
                del buf[: end + 4 + n]
            elif b"\r\ntransfer-encoding: chunked" in head:
                parsed = _parse_chunked(buf, end + 4)
                if parsed is None:
                    return
                body, used = parsed
                del buf[:used]
            else:
                raise HttpResponseError("response without Content-Length or chunked encoding")
        except (ValueError, HttpResponseError) as e:
            self.fail(e if isinstance(e, HttpResponseError) else HttpResponseError(str(e)))
            if self.transport is not None:
                self.transport.abort()
            return
        if b"\r\nconnection: close" in head and self.transport is not None:
            self.transport.close()
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((status, body))


def _parse_chunked(buf: bytearray, pos: int) -> tuple[bytes, int] | None:
    """(body, bytes used) of a complete chunked body starting at ``pos``; None if incomplete."""
    parts = []
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        size = int(bytes(buf[pos:eol]).split(b";", 1)[0], 16)
        if size == 0:
            trailer_end = buf.find(b"\r\n\r\n", eol)  # no trailers expected
            return None if trailer_end < 0 else (b"".join(parts), trailer_end + 4)
        if len(buf) < eol + 2 + size + 2:
            return None
        parts.append(bytes(buf[eol + 2 : eol + 2 + size]))
        pos = eol + 2 + size + 2


class HttpConnection:
    """One persistent HTTP/1.1 connection, one request at a time; reopened after a failure."""

    __slots__ = ("host", "port", "proto", "opened", "started")

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.proto: _HttpProtocol | None = None
        self.opened = 0
        self.started = 0.0  # perf_counter() of the request in flight (for the watchdog)

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        _transport, proto = await loop.create_connection(_HttpProtocol, self.host, self.port)
        sock = _transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.proto = proto
        self.opened += 1

    def close(self) -> None:
        proto, self.proto = self.proto, None
        if proto is not None and proto.transport is not None:
            if proto.waiter is not None:
                proto.transport.abort()
            else:
                proto.transport.close()

    def abort(self, exc: BaseException) -> None:
        """Fail the request in flight (the watchdog's timeout) and drop the connection."""
        if self.proto is not None:
            self.proto.fail(exc)
        self.close()

    async def request(self, data: bytes) -> tuple[int, bytes]:
        """Send one complete request (head and body) and read the response: (status, body)."""
        proto = self.proto
        if proto is None or proto.closed:
            await self.open()
            proto = self.proto
        assert proto is not None and proto.transport is not None
        waiter: asyncio.Future[tuple[int, bytes]] = asyncio.get_running_loop().create_future()
        proto.waiter = waiter
        proto.transport.write(data)
        if proto.buf:  # an unsolicited byte before the answer: not a protocol we speak
            proto._complete()
        return await waiter


def http_request(host_header: bytes, path: bytes, body: bytes, token: bytes | None) -> bytes:
    auth = b"Authorization: Bearer " + token + b"\r\n" if token else b""
    return b"".join(
        (
            b"POST ", path, b" HTTP/1.1\r\nHost: ", host_header,
            b"\r\nContent-Type: application/json\r\nAccept: application/json\r\n", auth,
            b"Content-Length: ", str(len(body)).encode(), b"\r\n\r\n", body,
        )
    )  # fmt: skip


async def http_get(host: str, port: int, path: str) -> tuple[int, bytes]:
    conn = HttpConnection(host, port)
    try:
        async with asyncio.timeout(2.0):
            return await conn.request(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    finally:
        conn.close()


class Gql:
    """Request bytes for one server: host header and pre-encoded pieces."""

    def __init__(self, host: str, port: int) -> None:
        self.host_header = f"{host}:{port}".encode()

    def post(
        self, query: str, variables: dict[str, Any] | None, operation: str, token: bytes | None
    ) -> bytes:
        body = orjson.dumps({"query": query, "variables": variables, "operationName": operation})
        return http_request(self.host_header, b"/graphql", body, token)
