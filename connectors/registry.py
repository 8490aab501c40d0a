"""Finding connectors: one entry-point group per kind.

The built-ins register exactly as a third party does, in their distribution's ``pyproject.toml``::

    [project.entry-points."hub.connectors.erp"]
    kingdee = "connectors.erp.kingdee:KingdeeErp"

Installing a distribution that declares such an entry point is all it takes for the hub to find
its connector (``hub connectors list`` shows it).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from connectors.erp import ErpConnector
from connectors.notify import Notifier
from connectors.wms import WmsConnector

__all__ = ["GROUPS", "KINDS", "Installed", "UnknownConnector", "installed", "load"]

KINDS = ("erp", "wms", "notify")
GROUPS = {kind: f"hub.connectors.{kind}" for kind in KINDS}
PROTOCOLS: dict[str, Any] = {"erp": ErpConnector, "wms": WmsConnector, "notify": Notifier}


@dataclass(frozen=True, slots=True)
class Installed:
    kind: str
    name: str
    target: str  # "module:Class"
    distribution: str  # "name version", or "" when unknown


class UnknownConnector(LookupError):
    def __init__(self, kind: str, name: str, available: list[str]) -> None:
        listed = ", ".join(available) or "none"
        super().__init__(f"no {kind} connector named {name!r} is installed (installed: {listed})")


def installed(kind: str | None = None) -> list[Installed]:
    """Every connector installed for ``kind`` (all kinds when None), by kind and name."""
    found = []
    for k in KINDS if kind is None else (kind,):
        for ep in entry_points(group=GROUPS[k]):
            dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist is not None else ""
            found.append(Installed(k, ep.name, ep.value, dist))
    return sorted(found, key=lambda i: (KINDS.index(i.kind), i.name))


def load(kind: str, name: str) -> type:
    """The connector class installed as ``name`` for ``kind``.

    Raises:
        UnknownConnector: nothing of that name is installed (the message lists what is).
        TypeError: the entry point does not lead to a connector of that kind.
    """
    matches = [ep for ep in entry_points(group=GROUPS[kind]) if ep.name == name]
    if not matches:
        raise UnknownConnector(kind, name, [i.name for i in installed(kind)])
    cls = matches[0].load()
    missing = [
        attr
        for attr in dir(PROTOCOLS[kind])
        if not attr.startswith("_") and attr != "Settings" and not hasattr(cls, attr)
    ]
    if not isinstance(cls, type) or not hasattr(cls, "Settings") or missing:
        raise TypeError(
            f"{kind} connector {name!r} ({matches[0].value}) lacks {', '.join(missing) or 'Settings'}"
        )
    return cls
