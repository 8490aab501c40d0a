"""The connector file (``hub.toml``): which connector serves which role, with its settings.

::

    [connectors.erp]
    connector = "kingdee"            # an installed erp connector (hub connectors list)
    base_url = "https://erp.example.com/k3cloud/"
    username = "hub"
    password = "set HUB_CONNECTOR_ERP__PASSWORD instead"

    [connectors.notify.sales]        # role "notify.sales"
    connector = "wecom"
    webhook_key = "..."

Roles are ``erp``, ``wms``, ``notify`` or ``notify.<name>`` (likewise ``erp.<name>``,
``wms.<name>``; names of lower case letters, digits and single inner underscores). Any setting
can be given, or overridden, by the environment as ``HUB_CONNECTOR_<ROLE>__<SETTING>`` with
the role in capitals and dots as underscores, e.g. ``HUB_CONNECTOR_NOTIFY_SALES__WEBHOOK_KEY``:
keep secrets there, not in the file. Every
connector validates its settings (its ``Settings`` model) when the file is loaded; an error
names the role and the setting, never the value.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from connectors.registry import KINDS, UnknownConnector, load
from connectors.sdk import ConnectorSettings

__all__ = ["ConnectorConfigError", "Instance", "load_config", "parse_config", "read_file"]

# Lower case, digits and single inner underscores: role names map one to one onto environment
# prefixes (HUB_CONNECTOR_NOTIFY_SALES_TEAM__…), so none can collide with or extend another.
ROLE = re.compile(r"(erp|wms|notify)(\.[a-z0-9]+(_[a-z0-9]+)*)?")
ENV_PREFIX = "HUB_CONNECTOR_"


class ConnectorConfigError(ValueError):
    """The connector file or its environment overrides are wrong; the message is one line."""


@dataclass(frozen=True, slots=True)
class Instance:
    """A configured connector: its role, its kind, the installed connector and its settings."""

    role: str
    kind: str
    connector: str
    cls: type
    settings: ConnectorSettings

    def create(self) -> Any:
        return self.cls(self.settings)


def _env_key(role: str) -> str:
    return ENV_PREFIX + role.upper().replace(".", "_").replace("-", "_") + "__"


def _roles(table: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """{role: its table}: ``[connectors.erp]`` is role erp, ``[connectors.notify.sales]`` is
    role notify.sales (a sub-table of a kind's table that has no ``connector`` key of its own)."""
    roles: dict[str, dict[str, Any]] = {}
    for kind, body in table.items():
        if kind not in KINDS:
            raise ConnectorConfigError(
                f"unknown connector kind [connectors.{kind}] (kinds: {', '.join(KINDS)})"
            )
        if not isinstance(body, dict):
            raise ConnectorConfigError(f"[connectors.{kind}] must be a table")
        if "connector" in body:  # the kind's own role; sub-tables are named roles beside it
            roles[kind] = {k: v for k, v in body.items() if not isinstance(v, dict)}
        elif any(not isinstance(v, dict) for v in body.values()):
            raise ConnectorConfigError(f'[connectors.{kind}] needs connector = "<name>"')
        for name, sub in body.items():
            if isinstance(sub, dict):
                roles[f"{kind}.{name}"] = sub
    return roles


def parse_config(
    data: Mapping[str, Any], environ: Mapping[str, str], source: str, sections: tuple[str, ...] = ()
) -> dict[str, Instance]:
    """Validate a loaded TOML document; {role: Instance}. ``sections`` are other top-level
    keys the caller reads itself (the hub's notification rules, job policies)."""
    unknown = sorted(set(data) - {"connectors", *sections})
    if unknown:
        raise ConnectorConfigError(f"{source}: unknown top-level key(s): {', '.join(unknown)}")
    table = data.get("connectors", {})
    if not isinstance(table, dict):
        raise ConnectorConfigError(f"{source}: [connectors] must be a table")
    instances: dict[str, Instance] = {}
    try:
        roles = _roles(table)
    except ConnectorConfigError as e:
        raise ConnectorConfigError(f"{source}: {e}") from None
    for role, body in roles.items():
        if not ROLE.fullmatch(role):
            raise ConnectorConfigError(f"{source}: bad role name {role!r} (e.g. erp, wms, notify.sales)")
        kind = role.split(".", 1)[0]
        values = dict(body)
        name = values.pop("connector", None)
        if not isinstance(name, str) or not name:
            raise ConnectorConfigError(f'{source}: [connectors.{role}] needs connector = "<name>"')
        prefix = _env_key(role)
        for key, value in environ.items():
            if key.startswith(prefix) and len(key) > len(prefix):
                values[key[len(prefix) :].lower()] = value
        try:
            cls = load(kind, name)
        except (UnknownConnector, TypeError) as e:
            raise ConnectorConfigError(f"{source}: [connectors.{role}]: {e}") from None
        try:
            settings = cls.Settings.model_validate(values)  # type: ignore[attr-defined]
        except ValidationError as e:
            # loc and message only: the input (possibly a secret) is never repeated
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(settings)'}: {err['msg']}" for err in e.errors()
            )
            raise ConnectorConfigError(f"{source}: [connectors.{role}] ({name}): {problems}") from None
        instances[role] = Instance(role, kind, name, cls, settings)
    return instances


def load_config(
    path: Path | None, environ: Mapping[str, str], sections: tuple[str, ...] = ()
) -> dict[str, Instance]:
    """Read and validate the connector file; no file, no connectors.

    Raises:
        ConnectorConfigError: one line naming the file, the role and the setting.
    """
    if path is None:
        return {}
    return parse_config(read_file(path), environ, str(path), sections)


def read_file(path: Path) -> dict[str, Any]:
    """The connector file as a TOML document.

    Raises:
        ConnectorConfigError: missing, unreadable or not TOML.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConnectorConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConnectorConfigError(f"{path}: cannot be read ({type(e).__name__})") from None
    except tomllib.TOMLDecodeError as e:
        raise ConnectorConfigError(f"{path}: not valid TOML ({e})") from None
    return data
