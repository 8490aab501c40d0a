"""The benchmark package's pure pieces, without a server: the load generator's HTTP framing
and response parser, the per-phase statistics and the report's tables."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bench.client import Gql, HttpResponseError, _HttpProtocol, _parse_chunked, http_request
from bench.report import cpu_markdown, markdown
from bench.scenarios import PhaseStats, TypenameScenario


class _Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True


def _protocol() -> tuple[_HttpProtocol, _Transport, asyncio.Future[tuple[int, bytes]]]:
    proto = _HttpProtocol()
    transport = _Transport()
    proto.connection_made(transport)  # type: ignore[arg-type]
    waiter: asyncio.Future[tuple[int, bytes]] = asyncio.get_running_loop().create_future()
    proto.waiter = waiter
    return proto, transport, waiter


def test_requests_are_framed_with_content_length_and_the_token() -> None:
    body = b'{"query":"{ __typename }"}'
    assert http_request(b"127.0.0.1:8000", b"/graphql", body, b"tok") == (
        b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
        b"Content-Type: application/json\r\nAccept: application/json\r\n"
        b"Authorization: Bearer tok\r\nContent-Length: 26\r\n\r\n" + body
    )
    assert b"Authorization" not in http_request(b"h:1", b"/graphql", body, None)


def test_graphql_posts_carry_query_variables_and_operation() -> None:
    data = Gql("127.0.0.1", 8000).post("query T { __typename }", None, "T", None)
    head, body = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n")
    assert body == b'{"query":"query T { __typename }","variables":null,"operationName":"T"}'


async def test_a_content_length_response_completes_once_its_body_is_in() -> None:
    proto, transport, waiter = _protocol()
    proto.data_received(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n")
    proto.data_received(b"\r\n{")
    assert not waiter.done()
    proto.data_received(b'"a": true}HTTP/1.1 2')  # the next response's first bytes stay buffered
    assert waiter.result() == (200, b'{"a": true}')
    assert proto.buf == b"HTTP/1.1 2"
    assert not transport.closed


async def test_a_chunked_response_and_connection_close() -> None:
    proto, transport, waiter = _protocol()
    proto.data_received(
        b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"4\r\nbusy\r\n3;ext=1\r\n!!!\r\n0\r\n\r\n"
    )
    assert waiter.result() == (503, b"busy!!!")
    assert transport.closed


async def test_garbage_fails_the_request_and_drops_the_connection() -> None:
    proto, transport, waiter = _protocol()
    proto.data_received(b"SSH-2.0-OpenSSH\r\n\r\n")
    with pytest.raises(HttpResponseError):
        waiter.result()
    assert transport.aborted


def test_an_incomplete_chunked_body_is_not_parsed_yet() -> None:
    buf = bytearray(b"5\r\nhello\r\n")
    assert _parse_chunked(buf, 0) is None
    buf += b"0\r\n\r\n"
    assert _parse_chunked(buf, 0) == (b"hello", len(buf))


def test_phase_statistics_use_nearest_rank_percentiles_and_count_errors() -> None:
    st = PhaseStats()
    st.latencies.extend(ms * 1_000_000 for ms in range(1, 101))
    st.requests, st.elapsed = 100, 2.0
    scenario = TypenameScenario(Gql("h", 1))
    scenario.check(200, b'{"data": {"__typename": "Query"}}', None, st)
    scenario.check(200, b'{"errors": [{"message": "boom 42 at deadbeef00"}], "data": null}', None, st)
    scenario.check(502, b"bad gateway", None, st)
    summary = st.summary()
    assert summary["req_per_s"] == 50.0
    assert summary["latency_ms"] == {"p50": 50.0, "p90": 90.0, "p99": 99.0, "mean": 50.5, "max": 100.0}
    assert summary["errors"] == 2
    assert summary["error_breakdown"]["graphql_error_messages"] == {"boom N at <id>": 1}
    assert summary["error_breakdown"]["http_non_200"] == {"502": 1}


def _result() -> dict[str, Any]:
    return {
        "name": "products",
        "title": "`products(first: 20)` as a customer",
        "measured": {
            "requests": 12345,
            "req_per_s": 823.04,
            "latency_ms": {"p50": 17.5, "p99": None},
            "errors": 0,
        },
        "cpu": {
            "client_cpu_s": 0.5,
            "client_cpu_pct_of_core": 5.0,
            "server_cpu_pct_of_core": 93.6,
            "server_main_thread_cpu_pct_of_core": 88.2,
            "server_other_threads_cpu_pct_of_core": 5.4,
            "postgres_cpu_pct_of_core": 42.0,
            "other_cpu_pct_of_core": 1.0,
            "machine_busy_pct": 71.0,
        },
    }


def test_the_results_table() -> None:
    assert markdown([_result()]).splitlines() == [
        "| scenario | requests | req/s | p50 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|",
        "| `products(first: 20)` as a customer | 12,345 | 823.0 | 17.50 | - | 0 |",
    ]
    row = cpu_markdown([_result()]).splitlines()[2]
    assert row.startswith("| products | 0.50 s (5 % of a core) | 41 | 94 % (88 + 5) | 42 % | 1 % | 71 % of ")
