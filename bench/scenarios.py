"""The API benchmark's scenarios and the closed-loop runner of one phase (warm-up or
measurement) of a scenario. Every response is checked: transport failures, non-200 statuses,
GraphQL ``errors``, payload ``errors`` (by code), null payloads and responses that do not match
the request are all counted in :class:`PhaseStats`."""

from __future__ import annotations

import asyncio
import math
import random
import re
import time
from array import array
from collections import Counter
from typing import Any

import orjson

from bench.client import REQUEST_TIMEOUT, Gql, HttpConnection, HttpResponseError
from bench.report import log
from bench.seed import Seeded

SCENARIO_NAMES = ["typename", "products", "order-spread", "order-hot"]
SEARCH_TERMS = [
    "valve",
    "chrome",
    "pipe",
    "black",
    "sink",
    "LED",
    "brass",
    "shower",
    "tap",
    "kit",
    "DN20",
    "seal",
]

TYPENAME_QUERY = "query Typename { __typename }"
PRODUCTS_QUERY = """
query Products($first: Int!, $after: String, $search: String) {
  products(first: $first, after: $after, search: $search) {
    edges { node { id sku name unit category { name } availableQuantity
      price { unitPrice { amount currency } appliedRules { kind } } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
ORDER_MUTATION = """
mutation PlaceOrder($input: OrderCreateInput!) {
  orderCreate(input: $input) {
    order { id number status lines { sku quantity } }
    errors { field code message }
  }
}"""
MAX_SAMPLES = 20
_HEX_IDS = re.compile(r"\b[0-9a-f]{8,}\b")
_NUMBERS = re.compile(r"\d+")


class PhaseStats:
    """Everything counted in one phase (warm-up or measurement) of one scenario."""

    def __init__(self) -> None:
        self.latencies = array("q")  # ns, successful transport only
        self.requests = 0
        self.transport: Counter[str] = Counter()
        self.non200: Counter[int] = Counter()
        self.graphql_errors = 0
        self.graphql_messages: Counter[str] = Counter()
        self.payload_errors: Counter[str] = Counter()
        self.payload_messages: Counter[str] = Counter()
        self.bad: Counter[str] = Counter()  # null payloads, mismatches, malformed bodies
        self.samples: list[str] = []
        self.extra: Counter[str] = Counter()
        self.elapsed = 0.0

    @property
    def errors(self) -> int:
        return (
            sum(self.transport.values()) + sum(self.non200.values()) + self.graphql_errors
            + sum(self.payload_errors.values()) + sum(self.bad.values())
        )  # fmt: skip

    def sample(self, what: str) -> None:
        if len(self.samples) < MAX_SAMPLES:
            self.samples.append(what[:500])

    def note(self, counter: Counter[str], message: str) -> None:
        # Numbers and request ids vary per response: fold them so that messages aggregate.
        key = _NUMBERS.sub("N", _HEX_IDS.sub("<id>", message))[:200]
        if key in counter or len(counter) < 50:
            counter[key] += 1
        else:
            counter["(other messages)"] += 1

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies)

        def pct(p: float) -> float | None:
            if not lat:
                return None
            return round(
                lat[min(len(lat) - 1, max(0, math.ceil(p / 100 * len(lat)) - 1))] / 1e6, 2
            )  # nearest rank

        return {
            "requests": self.requests,
            "elapsed_s": round(self.elapsed, 3),
            "req_per_s": round(self.requests / self.elapsed, 1) if self.elapsed else 0.0,
            "latency_ms": {
                "p50": pct(50), "p90": pct(90), "p99": pct(99),
                "mean": round(sum(lat) / len(lat) / 1e6, 2) if lat else None,
                "max": round(lat[-1] / 1e6, 2) if lat else None,
            },
            "errors": self.errors,
            "error_breakdown": {
                "transport": dict(self.transport),
                "http_non_200": {str(k): v for k, v in self.non200.items()},
                "graphql_errors": self.graphql_errors,
                "graphql_error_messages": dict(self.graphql_messages),
                "payload_errors_by_code": dict(self.payload_errors),
                "payload_error_messages": dict(self.payload_messages),
                "bad_responses": dict(self.bad),
            },
            "error_samples": self.samples,
            "counts": dict(self.extra),
        }  # fmt: skip


class Scenario:
    name = ""
    title = ""
    is_order = False

    def build(self, rng: random.Random) -> tuple[bytes, Any]:
        raise NotImplementedError

    def check(self, status: int, body: bytes, ctx: Any, st: PhaseStats) -> None:
        raise NotImplementedError

    @staticmethod
    def data_of(status: int, body: bytes, st: PhaseStats) -> tuple[dict[str, Any] | None, bool]:
        """(`data`, whether it came with GraphQL errors) of a response; counts non-200s, bad
        JSON, GraphQL errors and a missing `data`. Each bad response is counted once: a null
        field that comes with a GraphQL error is not counted again by the caller."""
        if status != 200:
            st.non200[status] += 1
            st.sample(f"HTTP {status}: {body[:300]!r}")
            return None, False
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:
            st.bad["body is not JSON"] += 1
            st.sample(f"not JSON: {body[:300]!r}")
            return None, False
        if not isinstance(doc, dict):
            st.bad["body is not a JSON object"] += 1
            return None, False
        errors = doc.get("errors")
        if errors:
            st.graphql_errors += len(errors)
            for e in errors:
                message = str(e.get("message")) if isinstance(e, dict) else str(e)
                st.note(st.graphql_messages, message)
            st.sample(f"GraphQL errors: {errors!r}")
        data = doc.get("data")
        if not isinstance(data, dict):
            if not errors:  # a response with neither data nor errors
                st.bad["data missing"] += 1
                st.sample(f"no data: {body[:300]!r}")
            return None, bool(errors)
        return data, bool(errors)

    @classmethod
    def field_of(cls, status: int, body: bytes, st: PhaseStats, field: str) -> Any:
        """The root ``field`` of a response (see :meth:`data_of`), or None after counting a
        null one that came without GraphQL errors."""
        data, had_errors = cls.data_of(status, body, st)
        if data is None:
            return None
        value = data.get(field)
        if value is None:
            if not had_errors:
                st.bad[f"{field} is null"] += 1
            st.sample(f"{field} null: {body[:300]!r}")
        return value


class TypenameScenario(Scenario):
    name = "typename"
    title = "`{ __typename }` (no token)"

    def __init__(self, gql: Gql) -> None:
        self.data = gql.post(TYPENAME_QUERY, None, "Typename", None)

    def build(self, rng: random.Random) -> tuple[bytes, Any]:
        return self.data, None

    def check(self, status: int, body: bytes, ctx: Any, st: PhaseStats) -> None:
        data, had_errors = self.data_of(status, body, st)
        if data is None:
            return
        if data.get("__typename") != "Query" and not had_errors:
            st.bad["wrong __typename"] += 1
            st.sample(f"wrong __typename: {body[:300]!r}")


class ProductsScenario(Scenario):
    name = "products"
    title = "`products(first: 20)` as a customer"

    def __init__(self, gql: Gql, tokens: list[bytes], cursors: list[str | None]) -> None:
        self.gql = gql
        self.tokens = tokens
        self.cursors = cursors

    def build(self, rng: random.Random) -> tuple[bytes, Any]:
        search = rng.choice(SEARCH_TERMS) if rng.random() < 0.3 else None
        after = rng.choice(self.cursors)
        if search is not None and rng.random() < 0.5:
            after = None  # half of the searches start at the top of their results
        variables = {"first": 20, "after": after, "search": search}
        return self.gql.post(PRODUCTS_QUERY, variables, "Products", rng.choice(self.tokens)), search

    def check(self, status: int, body: bytes, ctx: Any, st: PhaseStats) -> None:
        conn = self.field_of(status, body, st, "products")
        if conn is None:
            return
        edges = conn["edges"]
        if len(edges) > 20:
            st.bad["more than 20 edges"] += 1
        for e in edges:
            node = e["node"]
            if node["price"] is None or node["availableQuantity"] < 0:
                st.bad["node without price or with negative availability"] += 1
                st.sample(f"bad node: {node!r}")
                break
        st.extra["search requests" if ctx else "paging requests"] += 1
        st.extra["edges returned"] += len(edges)
        if not edges:
            st.extra["empty pages"] += 1


class OrderScenario(Scenario):
    is_order = True

    def __init__(self, gql: Gql, accepted: Counter[str], accepted_orders: list[int]) -> None:
        self.gql = gql
        self.accepted = accepted  # sku -> units the server said it accepted (whole run)
        self.accepted_orders = accepted_orders  # [count], shared across scenarios

    def lines(self, rng: random.Random) -> tuple[bytes, list[dict[str, Any]]]:
        raise NotImplementedError

    def build(self, rng: random.Random) -> tuple[bytes, Any]:
        token, lines = self.lines(rng)
        return self.gql.post(ORDER_MUTATION, {"input": {"lines": lines}}, "PlaceOrder", token), lines

    def check(self, status: int, body: bytes, ctx: Any, st: PhaseStats) -> None:
        payload = self.field_of(status, body, st, "orderCreate")
        if payload is None:
            return
        errors = payload.get("errors") or []
        for e in errors:
            st.payload_errors[str(e.get("code"))] += 1
            st.note(st.payload_messages, f"{e.get('code')} {e.get('field')}: {e.get('message')}")
        if errors:
            st.sample(f"payload errors: {errors!r}")
            if payload.get("order") is not None:
                st.bad["order returned together with errors"] += 1
            return
        order = payload.get("order")
        if order is None:
            st.bad["no order and no errors"] += 1
            return
        got = {x["sku"]: x["quantity"] for x in order["lines"]}
        want = {x["sku"]: x["quantity"] for x in ctx}
        if got != want:
            st.bad["order lines differ from the request"] += 1
            st.sample(f"lines {got!r} for request {want!r}")
        if order["status"] != "PENDING_APPROVAL":
            st.bad["new order not PENDING_APPROVAL"] += 1
        # Account what the server says it accepted: that is what must be reserved.
        for sku, q in got.items():
            self.accepted[sku] += q
        self.accepted_orders[0] += 1
        st.extra["orders accepted"] += 1


class SpreadOrderScenario(OrderScenario):
    name = "order-spread"
    title = "`orderCreate`, 3 lines, many customers and SKUs"

    def __init__(
        self,
        gql: Gql,
        accepted: Counter[str],
        accepted_orders: list[int],
        tokens: list[bytes],
        skus: list[str],
    ) -> None:
        super().__init__(gql, accepted, accepted_orders)
        self.tokens = tokens
        self.skus = skus

    def lines(self, rng: random.Random) -> tuple[bytes, list[dict[str, Any]]]:
        return rng.choice(self.tokens), [
            {"sku": s, "quantity": rng.randint(1, 5)} for s in rng.sample(self.skus, 3)
        ]


class HotOrderScenario(OrderScenario):
    name = "order-hot"
    title = "`orderCreate`, one customer, same 3 SKUs"

    def __init__(
        self,
        gql: Gql,
        accepted: Counter[str],
        accepted_orders: list[int],
        token: bytes,
        skus: list[str],
    ) -> None:
        super().__init__(gql, accepted, accepted_orders)
        self.token = token
        self.skus = skus

    def lines(self, rng: random.Random) -> tuple[bytes, list[dict[str, Any]]]:
        return self.token, [{"sku": s, "quantity": rng.randint(1, 3)} for s in self.skus]


async def run_phase(
    scenario: Scenario, conns: list[HttpConnection], seconds: float, rngs: list[random.Random]
) -> PhaseStats:
    """Closed loop: each client sends its next request when the previous answer is in, and
    stops sending at the deadline; requests in flight then still complete and are counted."""
    st = PhaseStats()
    build, check = scenario.build, scenario.check
    perf, perf_ns = time.perf_counter, time.perf_counter_ns
    start = perf()
    deadline = start + seconds

    async def client(conn: HttpConnection, rng: random.Random) -> None:
        lat = st.latencies
        while perf() < deadline:
            data, ctx = build(rng)
            t0 = perf_ns()
            conn.started = perf()
            try:
                status, body = await conn.request(data)
            except (OSError, TimeoutError, HttpResponseError) as e:
                st.requests += 1
                st.transport[type(e).__name__] += 1
                st.sample(f"transport: {type(e).__name__}: {e}")
                conn.close()
                continue
            finally:
                conn.started = 0.0
            lat.append(perf_ns() - t0)
            st.requests += 1
            try:
                check(status, body, ctx, st)
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                st.bad[f"unexpected response shape ({type(e).__name__})"] += 1
                st.sample(f"unexpected shape: {e!r}: {body[:300]!r}")

    async def watchdog() -> None:
        """One timer for all clients instead of one per request."""
        while True:
            await asyncio.sleep(1.0)
            now = perf()
            for conn in conns:
                if conn.started and now - conn.started > REQUEST_TIMEOUT:
                    conn.abort(TimeoutError(f"no response within {REQUEST_TIMEOUT:g}s"))

    dog = asyncio.create_task(watchdog())
    try:
        await asyncio.gather(*(client(c, r) for c, r in zip(conns, rngs, strict=True)))
    finally:
        dog.cancel()
    st.elapsed = perf() - start
    return st


async def walk_catalog(gql: Gql, port: int, token: bytes) -> list[str | None]:
    """Real `after` cursors, one per page of 20, by walking the catalog through the API."""
    conn = HttpConnection("127.0.0.1", port)
    cursors: list[str | None] = [None]
    after: str | None = None
    try:
        while True:
            variables = {"first": 20, "after": after, "search": None}
            async with asyncio.timeout(REQUEST_TIMEOUT):
                status, body = await conn.request(gql.post(PRODUCTS_QUERY, variables, "Products", token))
            if status != 200:
                raise RuntimeError(f"walking the catalog: HTTP {status}: {body[:300]!r}")
            doc = orjson.loads(body)
            if doc.get("errors") or not doc.get("data", {}).get("products"):
                raise RuntimeError(f"walking the catalog: {body[:500]!r}")
            info = doc["data"]["products"]["pageInfo"]
            if not info["hasNextPage"]:
                return cursors
            after = info["endCursor"]
            cursors.append(after)
    finally:
        conn.close()


async def make_scenarios(
    wanted: list[str],
    gql: Gql,
    port: int,
    tokens: list[bytes],
    seeded: Seeded,
    accepted: Counter[str],
    accepted_orders: list[int],
) -> list[Scenario]:
    """The scenarios named in ``wanted``, in that order (``products`` walks the catalog first)."""
    scenarios: list[Scenario] = []
    for s in wanted:
        if s == "typename":
            scenarios.append(TypenameScenario(gql))
        elif s == "products":
            cursors = await walk_catalog(gql, port, tokens[0])
            log(f"walked the catalog: {len(cursors) - 1} page cursors")
            scenarios.append(ProductsScenario(gql, tokens, cursors))
        elif s == "order-spread":
            pool = [x for x in seeded.skus if x not in set(seeded.hot_skus)]
            scenarios.append(SpreadOrderScenario(gql, accepted, accepted_orders, tokens, pool))
        elif s == "order-hot":
            scenarios.append(HotOrderScenario(gql, accepted, accepted_orders, tokens[0], seeded.hot_skus))
    return scenarios
