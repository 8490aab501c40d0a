"""The ``hub`` command: serve, migrate, demo, create-admin, worker, connectors, stock, export-schema."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import socket
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from hub.settings import DEMO_SECRET_KEY, ConfigError, Settings

__all__ = ["main"]


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    if getattr(args, "host", None):
        settings = replace(settings, host=args.host)
    if getattr(args, "port", None):
        if not 1 <= args.port <= 65535:
            raise ConfigError(f"--port must be between 1 and 65535, got {args.port}")
        settings = replace(settings, port=args.port)
    return settings


def _logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request's full URL at INFO, and chat robots carry their key in it.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _check_connectors(settings: Settings) -> None:
    """Validate the connector file at start-up: a wrong setting stops the hub here, in one line."""
    from hub.integration import load_connectors

    instances = load_connectors(settings)
    if instances:
        roles = ", ".join(f"{role}={inst.connector}" for role, inst in sorted(instances.items()))
        logging.getLogger("hub").info("connectors: %s", roles)


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from hub.migrations import upgrade

    upgrade(settings)
    print(f"database is up to date ({_safe_url(settings.database_url)})")
    return 0


def _tune_gc() -> None:
    """Move everything loaded at start-up out of the collector's way and collect the young
    generation less often: a request allocates thousands of short-lived objects, and the
    default threshold (700) runs a collection several times per request."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def _check_port(host: str, port: int) -> None:
    """Raises: ConfigError when nothing can listen on ``host:port`` (another process holds the
    port, or the address is not this machine's), before any worker or relay has started."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror} (HUB_HOST / --host)") from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as e:
            raise ConfigError(
                f"cannot listen on {host}:{port}: {e.strerror} (is another hub running? "
                "set HUB_PORT or --port)"
            ) from None


def cmd_serve(settings: Settings, _args: argparse.Namespace) -> int:
    import uvicorn

    from hub.app import create_app
    from hub.server import uvicorn_config

    _logging(settings)
    _check_port(settings.host, settings.port)
    _check_connectors(settings)
    if settings.secret_key == DEMO_SECRET_KEY:
        logging.getLogger("hub").warning(
            "HUB_SECRET_KEY is not set: tokens are signed with the public demo key (fine for a trial"
            " on this machine, never for real data)"
        )
    app = create_app(settings)
    _tune_gc()
    print(f"Ordering hub on http://{settings.host}:{settings.port}/graphql", flush=True)
    uvicorn.Server(uvicorn_config(app, settings)).run()
    return 0


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from hub.demo import load_demo
    from hub.migrations import upgrade

    upgrade(settings)
    logins = asyncio.run(load_demo(settings))
    print("Demo data ready. Logins (email / password / roles):")
    for email, password, roles in logins:
        print(f"  {email:<32} {password:<16} {roles}")
    if args.serve:
        return cmd_serve(settings, args)
    return 0


ADMIN_PASSWORD_VAR = "HUB_ADMIN_PASSWORD"


def _admin_password(given: str | None) -> str:
    """The new admin's password: ``--password`` (visible to anyone who lists processes: for
    scripts on a machine of one's own), else ``HUB_ADMIN_PASSWORD`` (an input of this one command,
    not a setting of the hub), else typed twice at a terminal.

    Raises:
        ConfigError: none of those (no terminal to ask on), or the two typed differ.
    """
    if given is not None:
        return given
    from_env = os.environ.get(ADMIN_PASSWORD_VAR)
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        raise ConfigError(f"give the password in {ADMIN_PASSWORD_VAR} (or type it at a terminal)")
    first = getpass.getpass("Password for the new admin: ")
    if getpass.getpass("Again: ") != first:
        raise ConfigError("the two passwords differ")
    return first


def cmd_create_admin(settings: Settings, args: argparse.Namespace) -> int:
    from hub.db import Database
    from hub.domain.auth.models import Role
    from hub.domain.auth.services import create_user
    from hub.domain.errors import DomainError

    password = _admin_password(args.password)

    async def run() -> int:
        db = Database(settings)
        try:
            async with db.write() as session:
                await create_user(
                    session, None, email=args.email, password=password,
                    roles=[Role.ADMIN], customer_id=None,
                )  # fmt: skip
        except DomainError as e:
            print(f"hub: error: {e}", file=sys.stderr)
            return 1
        finally:
            await db.dispose()
        print(f"admin {args.email.strip().lower()} created")
        return 0

    return asyncio.run(run())


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.redis_url:
        raise ConfigError(
            "HUB_REDIS_URL is required for hub worker (hub serve runs jobs in-process without it)"
        )
    _logging(settings)
    _check_connectors(settings)
    from hub.bootstrap import build_runtime
    from jobs.worker import run_worker

    return run_worker(build_runtime(settings), threads=args.threads)


def cmd_connectors(settings: Settings, args: argparse.Namespace) -> int:
    from hub.integration import check_connector, describe, load_connectors

    instances = load_connectors(settings)
    if args.action == "list":
        print(describe(settings, instances))
        return 0
    instance = instances.get(args.role)
    if instance is None:
        known = ", ".join(sorted(instances)) or "none"
        raise ConfigError(f"no connector is configured for role {args.role!r} (configured: {known})")
    verdict = asyncio.run(check_connector(instance))
    state = "ok" if verdict.ok else "FAILED"
    print(f"{args.role} ({instance.connector}): {state}: {verdict.detail}")
    return 0 if verdict.ok else 1


def _stock_roles(settings: Settings, role: str | None) -> list[str]:
    from hub.integration import load_integration

    cfg = load_integration(settings)
    readers = sorted(r for r, i in cfg.instances.items() if i.kind in ("erp", "wms"))
    if role is not None:
        if role not in readers:
            raise ConfigError(
                f"{role!r} is not a configured erp or wms role (configured: {', '.join(readers) or 'none'})"
            )
        return [role]
    if not readers:
        raise ConfigError("no erp or wms connector is configured (HUB_CONNECTORS_FILE)")
    return readers


def cmd_stock(settings: Settings, args: argparse.Namespace) -> int:
    """``hub stock pull ROLE`` and ``hub stock reconcile [ROLE]``."""
    from connectors.sdk import ConnectorError
    from hub.bootstrap import build_runtime
    from hub.db import Database

    roles = _stock_roles(settings, args.role)
    runtime = build_runtime(settings)

    async def run() -> int:
        db = Database(settings)
        try:
            if args.action == "pull":
                read, applied = await runtime.engine.pull_stock(db, roles[0])
                print(f"{roles[0]}: {read} stock level(s) read, {applied} applied (the rest were not newer)")
                return 0
            drift = await runtime.engine.reconcile(db, roles)
        except ConnectorError as e:
            print(f"hub: {type(e).__name__}: {e.message}", file=sys.stderr)
            return 1
        finally:
            await runtime.connectors.aclose()
            await db.dispose()
        if not drift:
            print(f"no drift: the hub's on-hand stock matches {', '.join(roles)}")
            return 0
        print(f"{'role':<12} {'sku':<24} {'warehouse':<12} {'hub':>8} {'peer':>8} {'diff':>8}")
        for d in drift:
            hub_qty = "-" if d.hub is None else str(d.hub)
            peer_qty = "-" if d.peer is None else str(d.peer)
            diff = (d.peer or 0) - (d.hub or 0)
            print(f"{d.role:<12} {d.sku:<24} {d.warehouse:<12} {hub_qty:>8} {peer_qty:>8} {diff:>+8}")
        print(f"{len(drift)} difference(s)")
        return 3

    return asyncio.run(run())


def cmd_export_schema(_settings: Settings, args: argparse.Namespace) -> int:
    from hub.schema.export import schema_sdl

    sdl = schema_sdl()
    if args.out == "-":
        sys.stdout.write(sdl)
    else:
        Path(args.out).write_text(sdl, encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        creds, _, host = rest.rpartition("@")
        user = creds.split(":", 1)[0]
        return f"{scheme}{sep}{user}:***@{host}" if ":" in creds else url
    return url


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hub", description="B2B ordering hub")
    sub = parser.add_subparsers(dest="command", required=True)

    def add_serve_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", help="interface to listen on (HUB_HOST, default 127.0.0.1)")
        p.add_argument("--port", type=int, help="port (HUB_PORT, default 8000)")

    p = sub.add_parser("serve", help="serve the GraphQL API (and, without Redis, the jobs)")
    add_serve_args(p)
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("migrate", help="create or upgrade the database schema")
    p.set_defaults(func=cmd_migrate)
    p = sub.add_parser("demo", help="migrate and load the demo data set, print the logins")
    p.add_argument("--serve", action="store_true", help="then serve it")
    add_serve_args(p)
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("create-admin", help="create an ADMIN user")
    p.add_argument("--email", required=True)
    p.add_argument(
        "--password",
        help=f"the password (visible in the process list; prefer {ADMIN_PASSWORD_VAR} or the prompt)",
    )
    p.set_defaults(func=cmd_create_admin)
    p = sub.add_parser("worker", help="run a Dramatiq worker and the outbox relay against Redis")
    p.add_argument("--threads", type=int, default=4, help="worker threads (default 4)")
    p.set_defaults(func=cmd_worker)
    p = sub.add_parser("connectors", help="list installed and configured connectors, or check one")
    csub = p.add_subparsers(dest="action", required=True)
    csub.add_parser("list", help="installed connectors, and the roles HUB_CONNECTORS_FILE configures")
    c = csub.add_parser("check", help="a live connectivity test of the connector serving ROLE")
    c.add_argument("role", help="a configured role, e.g. erp, wms, notify.sales")
    p.set_defaults(func=cmd_connectors)
    p = sub.add_parser("stock", help="pull stock from the ERP/WMS, or report drift against them")
    ssub = p.add_subparsers(dest="action", required=True)
    s = ssub.add_parser(
        "pull", help="apply ROLE's stock levels now (each only if newer than the last applied)"
    )
    s.add_argument("role", help="a configured erp or wms role")
    s = ssub.add_parser("reconcile", help="compare on-hand stock per SKU and warehouse; exit 3 on drift")
    s.add_argument("role", nargs="?", help="one erp or wms role (default: all of them)")
    p.set_defaults(func=cmd_stock)
    p = sub.add_parser("export-schema", help="write the GraphQL schema (SDL)")
    p.add_argument("--out", default="schema.graphql", help="file, or - for stdout")
    p.set_defaults(func=cmd_export_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = _settings(args)
        return int(args.func(settings, args))
    except ConfigError as e:
        print(f"hub: configuration error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except OSError as e:
        print(f"hub: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
