"""The hub's side of the connector SDK: loading the configured connectors at start-up and the
``hub connectors`` commands. Connectors themselves live in the top-level ``connectors`` package
and never import the hub."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pydantic import SecretStr, ValidationError

from connectors.config import ConnectorConfigError, Instance, parse_config, read_file
from connectors.registry import installed
from connectors.sdk import CheckResult, ConnectorError, PermanentError
from hub.domain.integration.policies import (
    DEFAULT_POLICIES,
    LEASE,
    OVERDUE,
    IntegrationRules,
    JobPolicy,
    NotificationRule,
    StockSync,
)
from hub.settings import ConfigError, Settings

__all__ = [
    "OPERATIONS",
    "Connectors",
    "IntegrationConfig",
    "JobPolicy",
    "NotificationRule",
    "StockSync",
    "check_connector",
    "describe",
    "load_connectors",
    "load_integration",
]

log = logging.getLogger("hub.integration")

CHECK_TIMEOUT = 30.0
SECTIONS = ("notifications", "jobs", "stock_sync")


# Defaults, kept under their old name: the operations the connector file may tune.
OPERATIONS = DEFAULT_POLICIES


@dataclass(frozen=True, slots=True)
class IntegrationConfig:
    """The connector file, validated: connectors per role, notification rules, job policies."""

    instances: dict[str, Instance] = field(default_factory=dict)
    rules: tuple[NotificationRule, ...] = ()
    policies: dict[str, JobPolicy] = field(default_factory=lambda: dict(OPERATIONS))
    stock_sync: StockSync = StockSync()

    def values(self, lease: float | None = None, overdue: float | None = None) -> IntegrationRules:
        """The rules as the domain takes them (``lease`` and ``overdue`` in seconds; None: the
        defaults)."""
        return IntegrationRules(
            roles=frozenset(self.instances),
            per_event=frozenset(
                r for r, i in self.instances.items() if getattr(i.cls, "digest", True) is False
            ),
            rules=self.rules,
            policies=dict(self.policies),
            stock_sync=self.stock_sync,
            lease=LEASE if lease is None else timedelta(seconds=lease),
            overdue=OVERDUE if overdue is None else timedelta(seconds=overdue),
        )


class Connectors:
    """The connectors of one process, each built on first use from the connector file."""

    def __init__(self, config: IntegrationConfig) -> None:
        self.config = config
        self._built: dict[str, Any] = {}

    def get(self, role: str) -> Any:
        """The connector serving ``role`` (built once).

        Raises:
            PermanentError: no connector is configured for ``role``.
        """
        if role not in self._built:
            instance = self.config.instances.get(role)
            if instance is None:
                raise PermanentError(f"no connector is configured for role {role!r}")
            self._built[role] = instance.create()
        return self._built[role]

    def put(self, role: str, connector: Any) -> None:
        """Serve ``role`` with ``connector`` from now on (an embedding's own, a test's fake)."""
        self._built[role] = connector

    async def aclose(self) -> None:
        built, self._built = self._built, {}
        for c in built.values():
            try:
                await c.aclose()
            except Exception:  # noqa: BLE001 - best effort at shutdown
                log.warning("closing connector %s failed", type(c).__name__)


def _problems(e: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '(value)'}: {err['msg']}" for err in e.errors()
    )


def parse_integration(
    data: Mapping[str, Any], instances: dict[str, Instance], source: str
) -> IntegrationConfig:
    """The hub's own sections of the connector file.

    Raises:
        ConfigError: one line naming the file and the section (values are never repeated).
    """
    raw_rules = data.get("notifications", [])
    if not isinstance(raw_rules, list):
        raise ConfigError(f"{source}: notifications must be an array of tables ([[notifications]])")
    rules = []
    for n, raw in enumerate(raw_rules, 1):
        try:
            rule = NotificationRule.model_validate(raw)
        except ValidationError as e:
            raise ConfigError(f"{source}: [[notifications]] #{n}: {_problems(e)}") from None
        for role in rule.to:
            if role not in instances or instances[role].kind != "notify":
                notifiers = ", ".join(sorted(r for r, i in instances.items() if i.kind == "notify")) or "none"
                raise ConfigError(
                    f"{source}: [[notifications]] #{n}: {role!r} is not a configured notifier"
                    f" (configured: {notifiers})"
                )
        rules.append(rule)
    policies = dict(OPERATIONS)
    raw_jobs = data.get("jobs", {})
    if not isinstance(raw_jobs, dict):
        raise ConfigError(f"{source}: [jobs] must be a table")
    for name, raw in raw_jobs.items():
        if name not in OPERATIONS:
            raise ConfigError(f"{source}: [jobs.{name}]: unknown job (jobs: {', '.join(OPERATIONS)})")
        try:
            merged = {**OPERATIONS[name].model_dump(), **(raw if isinstance(raw, dict) else {"?": raw})}
            policies[name] = JobPolicy.model_validate(merged)
        except ValidationError as e:
            raise ConfigError(f"{source}: [jobs.{name}]: {_problems(e)}") from None
    try:
        stock_sync = StockSync.model_validate(data.get("stock_sync", {}))
    except ValidationError as e:
        raise ConfigError(f"{source}: [stock_sync]: {_problems(e)}") from None
    if stock_sync.source is not None and (
        stock_sync.source not in instances or instances[stock_sync.source].kind not in ("erp", "wms")
    ):
        raise ConfigError(
            f"{source}: [stock_sync] source {stock_sync.source!r} is not a configured erp or wms role"
        )
    return IntegrationConfig(instances, tuple(rules), policies, stock_sync)


def load_integration(settings: Settings, environ: Mapping[str, str] | None = None) -> IntegrationConfig:
    """Everything the connector file configures; empty without HUB_CONNECTORS_FILE.

    Raises:
        ConfigError: one line naming the file, the role or section and the setting (never its value).
    """
    path = settings.connectors_file
    if path is None:
        return IntegrationConfig()
    try:
        data = read_file(path)
        instances = parse_config(data, os.environ if environ is None else environ, str(path), SECTIONS)
    except ConnectorConfigError as e:
        raise ConfigError(f"HUB_CONNECTORS_FILE: {e}") from None
    try:
        return parse_integration(data, instances, str(path))
    except ConfigError as e:
        raise ConfigError(f"HUB_CONNECTORS_FILE: {e}") from None


def load_connectors(settings: Settings, environ: Mapping[str, str] | None = None) -> dict[str, Instance]:
    """Every configured connector, its settings validated; {} without HUB_CONNECTORS_FILE.

    Raises:
        ConfigError: one line naming the file, the role and the setting (never its value).
    """
    return load_integration(settings, environ).instances


def _shown(value: object) -> str:
    return "**********" if isinstance(value, SecretStr) else repr(value)


def describe(settings: Settings, instances: Mapping[str, Instance]) -> str:
    """What ``hub connectors list`` prints: installed connectors, then the configured roles with
    their settings (secrets masked)."""
    out = ["installed connectors:"]
    for i in installed():
        out.append(f"  {i.kind:<7} {i.name:<16} {i.target}  ({i.distribution})")
    if settings.connectors_file is None:
        out.append("configured: none (set HUB_CONNECTORS_FILE to a connector file)")
        return "\n".join(out)
    out.append(f"configured in {settings.connectors_file}:")
    if not instances:
        out.append("  (no [connectors.*] tables)")
    for role, inst in sorted(instances.items()):
        values = " ".join(f"{k}={_shown(v)}" for k, v in inst.settings)
        out.append(f"  {role:<20} {inst.connector:<16} {values}".rstrip())
    return "\n".join(out)


async def check_connector(instance: Instance, limit: float = CHECK_TIMEOUT) -> CheckResult:
    """Build the connector and run its live check, with a time limit; failures become a
    verdict, not a traceback (a connector's own message, or the exception's type only)."""
    connector = instance.create()
    try:
        async with asyncio.timeout(limit):
            return await connector.check()  # type: ignore[no-any-return]
    except TimeoutError:
        return CheckResult(False, f"no answer within {limit:.0f} s")
    except ConnectorError as e:
        return CheckResult(False, f"{type(e).__name__}: {e.message}")
    except Exception as e:  # noqa: BLE001 - a verdict for the operator; details may hold secrets
        return CheckResult(False, f"unexpected {type(e).__name__} (see the connector's logs)")
    finally:
        try:
            await connector.aclose()
        except Exception:  # noqa: BLE001 - closing is best effort after a check
            pass
