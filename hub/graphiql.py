"""GraphiQL from files shipped in the package (no CDN at run time): the hub's own page, served
on ``GET /graphql`` to browsers when ``HUB_GRAPHIQL`` is on, and the files it loads, served at
:data:`MOUNT`. What they are and where they came from: ``hub/static/graphiql/README.md``."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from hub.settings import Settings

__all__ = ["ASSETS", "MOUNT", "graphiql_page", "graphiql_routes"]

_STATIC = Path(__file__).resolve().parent / "static"
ASSETS = _STATIC / "graphiql"
# The page, served at /graphql, refers to the files relative to it ("static/graphiql/…").
MOUNT = "/static/graphiql"

_HEADERS = {
    # Only the hub's own files; React sets inline styles. No other site may frame the login form.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@cache
def _page() -> str:
    return (_STATIC / "graphiql.html").read_text(encoding="utf-8")


def graphiql_page() -> HTMLResponse:
    """The GraphiQL page, with its login helper."""
    return HTMLResponse(_page(), headers=_HEADERS)


def graphiql_routes(settings: Settings) -> list[BaseRoute]:
    """The route of GraphiQL's files when ``settings.graphiql`` is on; none otherwise."""
    if not settings.graphiql:
        return []
    return [Mount(MOUNT, app=StaticFiles(directory=ASSETS), name="graphiql")]
