"""GraphiQL from files shipped in the package: the page and everything it loads come from the hub
(no CDN at run time), the page says which header to send and logs in for you, and it is gone
when HUB_GRAPHIQL is off."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import pytest

from hub.db import Database
from hub.graphiql import ASSETS
from hub.settings import Settings
from tests.support import Hub

ROOT = Path(__file__).resolve().parents[2]
HTML = {"accept": "text/html"}
CONTENT_TYPES = {".js": ("text/javascript", "application/javascript"), ".css": ("text/css",)}
# Code loaded from another host: a CDN's address, a script/stylesheet/import pointing off-site.
OUTSIDE_LOADERS = re.compile(
    r"(https?:)?//(unpkg\.com|cdn\.jsdelivr\.net|cdnjs\.cloudflare\.com|esm\.sh|cdn\.skypack\.dev"
    r"|fonts\.googleapis\.com|fonts\.gstatic\.com)"
    r"|<script[^>]*\bsrc\s*=\s*[\"']?(https?:)?//"
    r"|<link[^>]*\bhref\s*=\s*[\"']?(https?:)?//"
    r"|@import\s+(url\()?[\"']?(https?:)?//"
    r"|\bimport\s*\(\s*[\"'](https?:)?//"
    r"|url\(\s*[\"']?(https?:)?//",
    re.IGNORECASE,
)


class Refs(HTMLParser):
    """Every src and href of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value is not None:
                self.refs.append((tag, value))


def _refs(page: str) -> list[tuple[str, str]]:
    parser = Refs()
    parser.feed(page)
    return parser.refs


@pytest.fixture
async def hub_without_graphiql(settings: Settings, db: Database) -> AsyncIterator[Hub]:
    async with Hub.start(replace(settings, graphiql=False), db) as h:
        yield h


async def test_the_page_and_everything_it_loads_come_from_the_hub(hub: Hub) -> None:
    # when a browser opens /graphql
    response = await hub.client.get("/graphql", headers=HTML)
    # then it gets the hub's page, which no other site may frame
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    refs = _refs(response.text)
    # which refers to scripts and stylesheets on no other host
    assert {tag for tag, _ in refs} == {"script", "link"}
    for _tag, ref in refs:
        assert not re.match(r"^(https?:|//|data:|javascript:)", ref, re.IGNORECASE), ref
    # and each of them is served by the hub, with its content type, as shipped in the package
    for _tag, ref in refs:
        path = urljoin("/graphql", ref)
        asset = await hub.client.get(path)
        assert asset.status_code == 200, path
        suffix = Path(path).suffix
        assert asset.headers["content-type"].split(";")[0] in CONTENT_TYPES[suffix], path
        assert asset.content == (ASSETS / Path(path).name).read_bytes()
    assert sorted(Path(ref).name for _t, ref in refs) == [
        "graphiql.min.css",
        "graphiql.min.js",
        "hub-graphiql.css",
        "hub-graphiql.js",
        "react-dom.production.min.js",
        "react.production.min.js",
    ]


async def test_the_page_says_which_header_to_send_and_logs_in_without_leaking_the_token(hub: Hub) -> None:
    page = (await hub.client.get("/graphql", headers=HTML)).text
    # the header is said in words
    assert "Authorization: Bearer &lt;token&gt;" in page and "tokenCreate" in page
    # the login form sends nothing by itself: no named inputs (no password in an address), POST
    assert re.search(r'<form id="hub-login-form" method="post">', page)
    assert not re.search(r"<input[^>]*\bname=", page)
    # the helper asks tokenCreate over POST and puts the token only into GraphiQL's header editor,
    # not in storage, the address or the console
    script = (ASSETS / "hub-graphiql.js").read_text(encoding="utf-8")
    assert "tokenCreate(email: $email, password: $password)" in script
    assert 'method: "POST"' in script
    assert 'JSON.stringify({ Authorization: "Bearer " + answer.token }' in script
    assert "shouldPersistHeaders: false" in script
    for leak in (
        "localStorage",
        "sessionStorage",
        "document.cookie",
        "console.",
        "location.href",
        "history.",
    ):
        assert leak not in script, leak


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_login_helper_is_valid_javascript() -> None:
    result = subprocess.run(
        ["node", "--check", str(ASSETS / "hub-graphiql.js")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_the_shipped_files_load_no_code_from_other_hosts() -> None:
    shipped = sorted(p for p in ASSETS.iterdir() if p.suffix in (".js", ".css"))
    assert len(shipped) == 6
    for path in [*shipped, ASSETS.parent / "graphiql.html"]:
        text = path.read_text(encoding="utf-8")
        found = OUTSIDE_LOADERS.search(text)
        assert found is None, f"{path.name}: {text[max(found.start() - 80, 0) : found.end() + 80]}"
    # and each vendored package comes with its licence, and the README says where it came from
    readme = (ASSETS / "README.md").read_text(encoding="utf-8")
    for package, version in [("graphiql", "3.9.0"), ("react", "18.3.1"), ("react-dom", "18.3.1")]:
        assert (ASSETS / f"LICENSE.{package}").read_text(encoding="utf-8").startswith("MIT License")
        assert f"| {package} | {version} |" in readme


async def test_graphql_still_answers_posts_with_graphiql_on(hub: Hub) -> None:
    response = await hub.client.post("/graphql", json={"query": "{ me { email } }"}, headers=HTML)
    assert response.status_code == 200 and response.json() == {"data": {"me": None}}


async def test_with_graphiql_off_there_is_no_page_and_no_files(hub_without_graphiql: Hub) -> None:
    hub = hub_without_graphiql
    response = await hub.client.get("/graphql", headers=HTML)
    assert response.status_code == 404
    assert "graphiql" not in response.text.lower()
    assert (await hub.client.get("/static/graphiql/graphiql.min.js")).status_code == 404
    # and POST still works
    answer = await hub.client.post("/graphql", json={"query": "{ me { email } }"})
    assert answer.json() == {"data": {"me": None}}


@pytest.mark.slow
def test_the_wheel_ships_the_page_and_its_files(tmp_path: Path) -> None:
    # built from a copy of the sources, so the build leaves nothing in the repository
    source = tmp_path / "src"
    for name in ("pyproject.toml", "README.md"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, source / name)
    for package in ("hub", "connectors", "jobs"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path), str(source)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [wheel] = tmp_path.glob("ordering_hub-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {"hub/static/graphiql.html"} | {f"hub/static/graphiql/{p.name}" for p in ASSETS.iterdir()}
    assert expected <= names, expected - names
