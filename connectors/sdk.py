"""The connector SDK: what every connector is, how it fails, and how it is configured.

A connector is a class that the hub finds through an entry point (see
:mod:`connectors.registry`), builds from its own typed ``Settings`` (a pydantic model, validated
at start-up) and then calls through the Protocol of its kind (:mod:`connectors.erp`,
:mod:`connectors.wms`, :mod:`connectors.notify`). Connectors speak only in the frozen
dataclasses of those modules: they never import the hub's ORM, GraphQL or job code, and a third
party can write one against this package alone.

Failures are one of three kinds, and the hub's jobs act on the kind:

- :class:`TransientError`: the peer is down, slow, rate-limiting or answered 5xx. Retried with
  backoff.
- :class:`ConflictError`: the peer refuses *for now* (a document locked by a clerk, a period being
  closed). Retried later, like a transient error but with a longer wait.
- :class:`PermanentError`: the peer refuses the request itself (unknown customer, invalid item,
  bad credentials). Never retried; the job is marked FAILED for a person to look at.

Secrets are :class:`pydantic.SecretStr` fields: they print as ``**********`` in ``repr``, logs and
validation errors, and a connector reads them with ``get_secret_value()`` only where it sends
them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, SecretStr

__all__ = [
    "CheckResult",
    "ConflictError",
    "ExternalRef",
    "Connector",
    "ConnectorError",
    "ConnectorSettings",
    "PermanentError",
    "SecretStr",
    "StockLevel",
    "TransientError",
    "UNSAFE_TEXT",
]

# Characters no text crossing the hub's edges may carry, whichever way it goes: NUL (PostgreSQL
# text cannot hold it), the other C0 controls except tab, line feed and carriage return (XML 1.0,
# which Qimen and NAV speak, cannot carry them either), and lone UTF-16 surrogates (GraphQL's
# ``\uD800`` escape makes them; they have no UTF-8 encoding). The hub's GraphQL layer, its
# domain text checks and the WMS callback bounds all use this one definition.
UNSAFE_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


class ConnectorError(Exception):
    """Base of the taxonomy. ``message`` must be safe to show staff: no secrets, no bodies with
    personal data; ``code`` is the peer's own error code when it has one."""

    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class TransientError(ConnectorError):
    """Try again soon: the peer or the network failed, not the request."""

    retryable = True

    def __init__(self, message: str, *, code: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after  # seconds, when the peer said (HTTP 429 Retry-After)


class ConflictError(ConnectorError):
    """Try again later: the peer refuses for now (a locked document, a closing period)."""

    retryable = True


class PermanentError(ConnectorError):
    """Do not retry: the request itself is refused. A person must fix the cause."""


class ConnectorSettings(BaseModel):
    """Base of every connector's typed settings: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The verdict of a live connectivity check (``hub connectors check``)."""

    ok: bool
    detail: str  # one line, safe to print: what was reached, or what failed


@runtime_checkable
class Connector(Protocol):
    """What every connector class provides, whatever its kind."""

    Settings: ClassVar[type[ConnectorSettings]]

    def __init__(self, settings: Any) -> None: ...

    async def check(self) -> CheckResult:
        """Reach the peer once (log in, read something harmless) and say whether it worked."""
        ...

    async def aclose(self) -> None:
        """Release connections; called once when the hub stops."""
        ...


@dataclass(frozen=True, slots=True)
class ExternalRef:
    """What the peer calls a document the hub sent: its id, and its human number if it has one."""

    external_id: str
    number: str | None = None


@dataclass(frozen=True, slots=True)
class StockLevel:
    """On-hand quantity of a SKU in a warehouse, as the peer counts it at ``as_of``."""

    sku: str
    warehouse_code: str
    on_hand: int
    as_of: datetime
