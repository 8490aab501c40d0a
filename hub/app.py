"""The ASGI application: GraphQL over HTTP, health check, request ids and limits."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import strawberry
from cross_web import HTTPException
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from hub.bootstrap import Runtime, build_runtime
from hub.db import Database
from hub.domain.auth.passwords import PasswordChecks, default_concurrency
from hub.domain.auth.principal import Principal
from hub.domain.auth.services import PasswordGuard
from hub.domain.auth.sessions import UserStateCache, check_caller
from hub.domain.auth.throttle import Counters, LoginThrottle, MemoryCounters
from hub.domain.auth.tokens import TokenProblem, TokenService
from hub.graphiql import graphiql_page, graphiql_routes
from hub.login_counters import RedisCounters
from hub.operations import AccessLog, Metrics, Readiness
from hub.schema.build import (
    MAX_ALIASES,
    MAX_DEPTH,
    RETRY_AFTER_SECONDS,
    build_schema,
    request_id_var,
    unavailable_error,
)
from hub.schema.context import AppState, Context
from hub.settings import Settings

__all__ = ["MAX_ALIASES", "MAX_DEPTH", "build_schema", "create_app", "request_id_var"]

log = logging.getLogger("hub.app")


_AUTH_PROBLEM = "hub.auth_problem"


async def caller_of(state: AppState, token: str) -> tuple[Principal | None, TokenProblem | None]:
    """The request's caller for a bearer token, or why it runs as anonymous: the token's
    signature and lifetime (no database), then its user's current state (one read by primary
    key, or the user cache)."""
    claims = state.tokens.claims(token)
    if isinstance(claims, TokenProblem):
        return None, claims
    principal = await check_caller(claims, state.users, state.db.read)
    return principal, (None if principal is not None else TokenProblem.INVALID)


class HubGraphQL(GraphQL):
    def __init__(self, schema: strawberry.Schema, state: AppState) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if state.settings.graphiql else None,
            allow_queries_via_get=False,
        )
        self.state = state

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql_page()  # the hub's own page and files, not strawberry's CDN one

    async def get_context(self, request: Request, response: Response) -> Context:  # type: ignore[override]
        principal, problem = None, None
        auth = request.headers.get("authorization")
        if auth and auth[:7].lower() == "bearer ":
            principal, problem = await caller_of(self.state, auth[7:].strip())
            request.scope[_AUTH_PROBLEM] = problem
        return Context(
            app=self.state,
            principal=principal,
            request_id=request_id_var.get(),
            client_address=request.client.host if request.client else None,
        )

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        answer = await super().process_result(request, result)
        problem = request.scope.get(_AUTH_PROBLEM)
        if problem is not None:
            # API.md "Operations": the request ran as anonymous; say why, so a frontend can
            # send the user to log in again.
            answer["extensions"] = {**(answer.get("extensions") or {}), "auth": problem.value}
        return answer

    async def run(self, request: Request, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        try:
            return await super().run(request, *args, **kwargs)
        except PoolTimeoutError:
            # No connection came free for the caller's user check (get_context): the same
            # retryable answer as when a resolver could not get one (create_response).
            log.warning("connection pool exhausted (request id %s)", request_id_var.get())
            body = {"data": None, "errors": [unavailable_error().formatted]}
            return Response(self.encode_json(body), 503, _retry_after(), media_type="application/json")

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        answers: list[GraphQLHTTPResponse] = (
            response_data if isinstance(response_data, list) else [response_data]
        )
        if any(_unavailable(e) for answer in answers for e in answer.get("errors") or ()):
            # An exhausted connection pool (hub/schema/build.py): retryable, never a 200 with a
            # masked internal error.
            response.status_code = 503
            response.headers.update(_retry_after())
        return response

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data, default=str)

    def decode_json(self, data: str | bytes) -> object:
        # NUL and other control characters in strings are refused per argument, with an INVALID
        # error naming it, by hub/schema/hygiene.py (literals and variables alike).
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise HTTPException(400, "Unable to parse request body as JSON") from None
        if not isinstance(value, dict):
            raise HTTPException(400, "The request body must be a JSON object")
        return value


def _unavailable(error: object) -> bool:
    extensions = error.get("extensions") if isinstance(error, dict) else None
    return isinstance(extensions, dict) and extensions.get("code") == "UNAVAILABLE"


def _retry_after() -> dict[str, str]:
    return {"retry-after": str(RETRY_AFTER_SECONDS)}


class RequestIdAndLimits:
    """Give each request an id (``X-Request-ID``), refuse bodies over the size limit (413) and
    bodies that do not arrive within ``body_timeout`` seconds (408; the connection is closed, so
    a client that sends headers and part of a body, then nothing, holds nothing for long)."""

    def __init__(self, app: ASGIApp, max_body: int, body_timeout: float = 10.0) -> None:
        self.app = app
        self.max_body = max_body
        self.body_timeout = body_timeout

    def _too_large(self, rid: str) -> JSONResponse:
        return JSONResponse(
            {"errors": [{"message": f"Request body over {self.max_body} bytes"}]},
            status_code=413,
            headers={"x-request-id": rid},
        )

    def _too_slow(self, rid: str) -> JSONResponse:
        return JSONResponse(
            {"errors": [{"message": f"Request body not received within {self.body_timeout:g} seconds"}]},
            status_code=408,
            headers={"x-request-id": rid, "connection": "close"},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = secrets.token_hex(8)
        request_id_var.set(rid)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_body
                except ValueError:
                    too_big = True
                if too_big:
                    await self._too_large(rid)(scope, receive, send)
                    return
        # Read the whole body first (GraphQL bodies are small), refusing it as soon as it
        # passes the limit, also when it comes chunked without a Content-Length, and when it
        # has not all arrived by the deadline.
        chunks: list[bytes] = []
        size = 0
        more = True
        try:
            async with asyncio.timeout(self.body_timeout):
                while more:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_body:
                        break
                    chunks.append(chunk)
                    more = message.get("more_body", False)
        except TimeoutError:
            await self._too_slow(rid)(scope, receive, send)
            return
        if size > self.max_body:
            await self._too_large(rid)(scope, receive, send)
            return
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        await self.app(scope, replay, send_with_id)


def create_app(
    settings: Settings,
    *,
    db: Database | None = None,
    run_jobs: bool = True,
    runtime: Runtime | None = None,
) -> ASGIApp:
    """Build the application. ``run_jobs`` starts the outbox relay and the job dispatcher (and,
    without Redis, the in-process worker) with the app's lifespan; ``runtime`` is the
    composition root's (:func:`hub.bootstrap.build_runtime` of ``settings`` when None)."""
    database = db or Database(settings)
    wired = runtime or build_runtime(settings)
    # Login failures are counted in Redis when there is one, so every API process sees them.
    counters: Counters = RedisCounters(settings.redis_url) if settings.redis_url else MemoryCounters()
    state = AppState(
        settings=settings,
        db=database,
        tokens=TokenService(settings.secret_key, settings.token_ttl_seconds),
        passwords=PasswordGuard(
            LoginThrottle(counters),
            PasswordChecks(settings.max_concurrent_logins or default_concurrency()),
        ),
        users=UserStateCache(settings.user_cache_seconds),
    )
    graphql_app = HubGraphQL(build_schema(settings), state)
    hooks = wired.hooks(database)

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    readiness = Readiness(settings, database)
    metrics = Metrics(database)
    graphql_endpoint: ASGIApp = graphql_app
    graphql_methods = ["GET", "POST"]
    if settings.cors_origins:
        graphql_methods.append("OPTIONS")
        # Browsers on these origins may call /graphql; preflights are answered here.
        graphql_endpoint = CORSMiddleware(
            graphql_app,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["authorization", "content-type"],
            expose_headers=["x-request-id", "retry-after"],
            max_age=600,
        )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        runner = None
        if run_jobs:
            runner = wired.job_runtime(database)
            await runner.start()
        try:
            yield
        finally:
            if runner is not None:
                await runner.stop()
            await hooks.aclose()
            if isinstance(counters, RedisCounters):
                await counters.aclose()
            if db is None:
                await database.dispose()

    app = Starlette(
        routes=[
            Route("/graphql", graphql_endpoint, methods=graphql_methods),
            Route("/healthz", health),
            Route("/readyz", readiness.endpoint),
            Route("/metrics", metrics.endpoint),
            Route("/hooks/{role}", hooks.handle, methods=["POST"]),
            *graphiql_routes(settings),
        ],
        lifespan=lifespan,
    )
    app.state.hub = state
    return AccessLog(
        RequestIdAndLimits(app, settings.max_body_bytes, float(settings.body_timeout_seconds)), metrics
    )
