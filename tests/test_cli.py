"""The `hub` command as an operator uses it: real processes, real files."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text

from hub.db import Database
from hub.demo import load_demo
from hub.domain.auth.models import Role, User
from hub.domain.catalog.models import Category, Product
from hub.domain.customers.models import Customer, CustomerGroup
from hub.domain.inventory.models import Warehouse
from hub.settings import Settings

HUB = [sys.executable, "-m", "hub.cli"]


def run(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")} | env
    return subprocess.run([*HUB, *args], env=full_env, capture_output=True, text=True, timeout=timeout)


def test_a_bad_setting_stops_startup_with_one_line(tmp_path: Path) -> None:
    # when the hub is started with a database URL it cannot use
    result = run(["migrate"], {"HUB_DATABASE_URL": "mysql://root@localhost/hub"})
    # then it exits with a one-line message naming the setting, and no traceback
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "HUB_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_then_create_admin_then_log_in(tmp_path: Path) -> None:
    env = {"HUB_DATABASE_URL": f"sqlite:///{tmp_path}/hub.db"}
    # given a migrated database
    assert run(["migrate"], env).returncode == 0
    # when an admin is created
    result = run(["create-admin", "--email", "Boss@Example.com", "--password", "long-enough-pw"], env)
    assert result.returncode == 0, result.stderr
    # then creating the same admin again is refused with a clear message
    again = run(["create-admin", "--email", "boss@example.com", "--password", "long-enough-pw"], env)
    assert again.returncode == 1
    assert "already exists" in again.stderr
    # and a too-short password is refused
    short = run(["create-admin", "--email", "x@example.com", "--password", "short"], env)
    assert short.returncode == 1 and "Password" in short.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_graphql_and_graphiql(tmp_path: Path) -> None:
    # given a migrated database and a free port in HUB_PORT
    port = _free_port()
    env = {"HUB_DATABASE_URL": f"sqlite:///{tmp_path}/hub.db", "HUB_PORT": str(port)}
    assert run(["migrate"], env).returncode == 0
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")} | env
    proc = subprocess.Popen(
        [*HUB, "serve"], env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        # when it is up
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "hub serve did not start"
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.2)
        # then GraphiQL and the API answer on HUB_PORT
        page = httpx.get(f"http://127.0.0.1:{port}/graphql", headers={"accept": "text/html"})
        assert page.status_code == 200 and "graphiql" in page.text.lower()
        answer = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": "{ me { email } }"})
        assert answer.json() == {"data": {"me": None}}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow
async def test_demo_data_is_realistic_and_loads_once(settings: Settings, db: Database) -> None:
    # when the demo is loaded twice
    first = await load_demo(settings)
    second = await load_demo(settings)
    # then the logins are the same and nothing was loaded twice
    assert first == second
    async with db.read() as s:

        async def count(model: type) -> int:
            return int(await s.scalar(select(func.count()).select_from(model)) or 0)

        assert await count(Product) >= 200
        assert await count(Category) >= 10
        assert await count(Warehouse) == 3
        assert await count(Customer) >= 20
        assert await count(CustomerGroup) >= 2
        regions = await s.scalar(select(func.count(func.distinct(Customer.region_id))))
        assert regions >= 3
        users = (await s.execute(select(User))).scalars().all()
        # and every open demo order holds exactly the stock of its lines (none half-written)
        held = dict((await s.execute(text(
            "SELECT o.id, COALESCE(SUM(r.quantity), 0) FROM orders o LEFT JOIN reservations r ON r.order_id = o.id"
            " WHERE o.status NOT IN ('CANCELLED', 'REJECTED') GROUP BY o.id"))).all())  # fmt: skip
        ordered = dict((await s.execute(text(
            "SELECT o.id, SUM(l.quantity) FROM orders o JOIN order_lines l ON l.order_id = o.id"
            " WHERE o.status NOT IN ('CANCELLED', 'REJECTED') GROUP BY o.id"))).all())  # fmt: skip
    assert held and held == ordered
    # and there is one user per role, each printed with its password
    roles = {r for u in users for r in u.roles}
    assert roles == set(Role)
    assert {email for email, _pw, _roles in first} == {u.email for u in users}
    assert all(pw for _e, pw, _r in first)


def test_worker_needs_redis() -> None:
    # when `hub worker` is started without HUB_REDIS_URL
    result = run(["worker"], {})
    # then it refuses in one line naming the setting (hub serve runs jobs in-process instead)
    assert result.returncode == 2
    assert "HUB_REDIS_URL" in result.stderr and result.stderr.strip().count("\n") == 0


def test_create_admin_takes_the_password_from_the_environment_and_never_prints_it(tmp_path: Path) -> None:
    env = {"HUB_DATABASE_URL": f"sqlite:///{tmp_path}/hub.db"}
    assert run(["migrate"], env).returncode == 0
    # when an admin is created with the password in HUB_ADMIN_PASSWORD, not on the command line
    result = run(
        ["create-admin", "--email", "boss@example.com"], env | {"HUB_ADMIN_PASSWORD": "env-pass-0123"}
    )
    # then it is created with that password, and the password appears in no output
    assert result.returncode == 0, result.stderr
    assert "env-pass-0123" not in result.stdout + result.stderr

    async def stored_hash_matches() -> bool:
        from hub.domain.auth.passwords import verify_password

        db = Database(Settings(database_url=env["HUB_DATABASE_URL"]))
        try:
            async with db.read() as s:
                user = await s.scalar(select(User).where(User.email == "boss@example.com"))
                return user is not None and await verify_password(user.password_hash, "env-pass-0123")
        finally:
            await db.dispose()

    import asyncio

    assert asyncio.run(stored_hash_matches())


def test_create_admin_without_a_password_or_a_terminal_says_where_to_give_it(tmp_path: Path) -> None:
    env = {"HUB_DATABASE_URL": f"sqlite:///{tmp_path}/hub.db"}
    assert run(["migrate"], env).returncode == 0
    # when neither --password nor HUB_ADMIN_PASSWORD is given and there is no terminal to ask on
    result = run(["create-admin", "--email", "boss@example.com"], env)
    # then it stops with one line naming the variable, and creates nobody
    assert result.returncode == 2
    assert "HUB_ADMIN_PASSWORD" in result.stderr and result.stderr.strip().count("\n") == 0


def test_serve_on_a_port_in_use_stops_at_once_with_one_line(tmp_path: Path) -> None:
    env = {"HUB_DATABASE_URL": f"sqlite:///{tmp_path}/hub.db"}
    assert run(["migrate"], env).returncode == 0
    # given a port another process listens on
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        # when the hub is served on it
        started = time.monotonic()
        result = run(["serve", "--port", str(port)], env, timeout=60)
        # then it exits at once with one line naming the address, before any worker started
        assert result.returncode == 2
        assert time.monotonic() - started < 30
        assert f"127.0.0.1:{port}" in result.stderr and result.stderr.strip().count("\n") == 0
        assert "Traceback" not in result.stderr and "worker" not in result.stdout
