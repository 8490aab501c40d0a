"""Talking to an HTTP peer: one place that maps transport and HTTP failures onto the SDK's error
taxonomy and retries the quick ones inside the call (tenacity).

- connection refused, reset, DNS, timeouts, HTTP 5xx, a body that is not JSON → TransientError
  (a timeout after the request was sent is retried in the call only for an ``idempotent`` peer:
  a chat robot may already have posted the message)
- HTTP 429 → TransientError with ``retry_after`` from the ``Retry-After`` header
- any other HTTP 4xx → PermanentError
- a redirect (3xx), or any other status that is not 2xx → PermanentError: redirects are not
  followed, and one means the configured URL is not the peer's endpoint (a wrong path, http for
  https, a trailing slash the peer does not accept). That is a configuration problem no retry
  can cure, so it surfaces to staff at once.

``path`` "" posts to the configured URL exactly as given (httpx would otherwise join an empty path
onto the base URL with a slash: ``…/router`` became ``…/router/``); any other path is joined onto
the base URL.

Quick retries: up to ``attempts`` tries with exponential backoff and jitter (0.2 s doubling, at
most 2 s), for transient errors that do not ask to wait longer than 2 s. Anything longer is left
to the job's own retry with backoff. Messages name the peer's host, never the URL: chat robots
carry their key in it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from connectors.sdk import PermanentError, TransientError

__all__ = ["Headers", "HttpPeer", "retry_after_seconds"]

# Extra request headers: fixed, or a function called before every attempt (a signature over a fresh
# timestamp, for example).
Headers = Mapping[str, str] | Callable[[], Mapping[str, str]]

QUICK_RETRY_LIMIT = 2.0  # seconds: a peer asking to wait longer is retried by the job instead


class _Unsure(TransientError):
    """The request may have reached the peer (it timed out after being sent)."""


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds (None when absent or not a number of seconds)."""
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


class HttpPeer:
    """An httpx client for one peer, with the taxonomy and quick retries."""

    def __init__(
        self, base_url: str, *, timeout: float = 10.0, attempts: int = 3, idempotent: bool = False
    ) -> None:
        self.url = httpx.URL(base_url)
        self.host = self.url.host or base_url
        self.attempts = attempts
        # A request that timed out after it was sent may have been carried out: retry it in the
        # call only when repeating it is harmless at the peer (the job may still retry later).
        self.idempotent = idempotent
        self.client = httpx.AsyncClient(base_url=base_url, timeout=timeout, follow_redirects=False)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _post_once(
        self, path: str, params: dict[str, str] | None, headers: Headers | None = None, **kwargs: Any
    ) -> httpx.Response:
        if callable(headers):
            headers = headers()
        url: httpx.URL | str = self.url if path == "" else path  # "": the configured URL, no slash added
        try:
            response = await self.client.post(url, params=params, headers=headers, **kwargs)
        except httpx.ConnectTimeout:
            raise TransientError(f"{self.host}: no connection in time") from None
        except httpx.TimeoutException:
            raise _Unsure(f"{self.host}: no answer in time") from None
        except httpx.TransportError as e:
            raise TransientError(f"{self.host}: cannot reach it ({type(e).__name__})") from None
        status = response.status_code
        if status == 429:
            wait = retry_after_seconds(response.headers.get("retry-after"))
            raise TransientError(f"{self.host}: rate limited (HTTP 429)", retry_after=wait)
        if status >= 500:
            raise TransientError(f"{self.host}: HTTP {status}")
        if status >= 400:
            raise PermanentError(f"{self.host}: HTTP {status}", code=str(status))
        if not response.is_success:
            raise PermanentError(
                f"{self.host}: HTTP {status} (redirects are not followed: configure the final URL)",
                code=str(status),
            )
        return response

    async def _post(self, path: str, params: dict[str, str] | None, parse: Any, **kwargs: Any) -> Any:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(self._quick),
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential_jitter(multiplier=0.2, max=2.0, jitter=0.2),
            reraise=True,
        ):
            with attempt:
                return parse(await self._post_once(path, params, **kwargs))
        raise AssertionError("unreachable")  # pragma: no cover - AsyncRetrying returns or raises

    def _quick(self, exc: BaseException) -> bool:
        if not isinstance(exc, TransientError) or (isinstance(exc, _Unsure) and not self.idempotent):
            return False
        return exc.retry_after is None or exc.retry_after <= QUICK_RETRY_LIMIT

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            status = response.status_code
            raise TransientError(f"{self.host}: HTTP {status} with a body that is not JSON") from None

    async def post_json(
        self, path: str, body: Any, params: dict[str, str] | None = None, headers: Headers | None = None
    ) -> Any:
        """POST ``body`` as JSON and return the decoded answer (raises the taxonomy's errors).
        ``headers`` are added to the request (a function is called again for every attempt)."""
        return await self._post(path, params, self._json, json=body, headers=headers)

    async def post_bytes(
        self,
        path: str,
        content: bytes,
        params: dict[str, str] | None = None,
        content_type: str = "text/xml",
        headers: Headers | None = None,
    ) -> bytes:
        """POST raw ``content`` and return the raw answer (raises the taxonomy's errors).
        ``headers`` are added to the request and may replace the ``Content-Type`` (a function is
        called again for every attempt)."""

        def all_headers() -> httpx.Headers:
            merged = httpx.Headers({"Content-Type": f"{content_type}; charset=utf-8"})
            merged.update(headers() if callable(headers) else headers or {})  # case-insensitive
            return merged

        return await self._post(path, params, lambda r: r.content, content=content, headers=all_headers)  # type: ignore[no-any-return]
