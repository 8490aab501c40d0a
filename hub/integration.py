"""The hub's side of the connector SDK: loading the configured connectors at start-up and the
``hub connectors`` commands. Connectors themselves live in the top-level ``connectors`` package
and never import the hub."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping

from pydantic import SecretStr

from connectors.config import ConnectorConfigError, Instance, load_config
from connectors.registry import installed
from connectors.sdk import CheckResult, ConnectorError
from hub.settings import ConfigError, Settings

__all__ = ["check_connector", "describe", "load_connectors"]

CHECK_TIMEOUT = 30.0


def load_connectors(settings: Settings, environ: Mapping[str, str] | None = None) -> dict[str, Instance]:
    """Every configured connector, its settings validated; {} without HUB_CONNECTORS_FILE.

    Raises:
        ConfigError: one line naming the file, the role and the setting (never its value).
    """
    try:
        return load_config(settings.connectors_file, os.environ if environ is None else environ)
    except ConnectorConfigError as e:
        raise ConfigError(f"HUB_CONNECTORS_FILE: {e}") from None


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
        except Exception:  # noqa: BLE001, S110 - closing is best effort after a check
            pass
