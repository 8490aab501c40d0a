"""The hub's own sections of the connector file: notification rules, job policies, stock sync.
Every mistake stops start-up with one line that names the file and the section."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from hub.integration import OPERATIONS, load_integration
from hub.settings import ConfigError, Settings

BASE = """
[connectors.erp]
connector = "memory"
[connectors.notify.sales]
connector = "log"
"""


def load(tmp_path: Path, extra: str) -> object:
    path = tmp_path / "hub.toml"
    path.write_text(extra + BASE, encoding="utf-8")  # top-level keys before the first table
    return load_integration(replace(Settings(), connectors_file=path), environ={})


def test_rules_policies_and_stock_sync_are_read(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        """
[[notifications]]
events = ["order.*"]
to = ["notify.sales"]
customers = ["ACME"]
[jobs.notify]
max_attempts = 3
[stock_sync]
source = "erp"
interval = 0
""",
    )
    [rule] = cfg.rules  # type: ignore[attr-defined]
    assert rule.matches("order.approved", "ACME") and not rule.matches("order.approved", "BETA")
    assert not rule.matches("inbound.shipment", "ACME")
    policy = cfg.policies["notify"]  # type: ignore[attr-defined]
    assert (policy.max_attempts, policy.min_backoff) == (3, OPERATIONS["notify"].min_backoff)
    assert cfg.stock_sync.source == "erp" and cfg.stock_sync.interval == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            '[[notifications]]\nevents = ["order.*"]\nto = ["notify.ops"]\n',
            "'notify.ops' is not a configured notifier (configured: notify.sales)",
        ),
        ('[[notifications]]\nevents = ["order.*"]\nto = ["erp"]\n', "'erp' is not a configured notifier"),
        (
            '[[notifications]]\nevents = []\nto = ["notify.sales"]\n',
            "[[notifications]] #1: events: List should have at least 1 item",
        ),
        (
            '[[notifications]]\nevents = ["order.*"]\nto = ["notify.sales"]\nwhen = "x"\n',
            "when: Extra inputs are not permitted",
        ),
        ('notifications = "all"\n', "notifications must be an array of tables"),
        (
            "[jobs.push_everything]\nmax_attempts = 2\n",
            "[jobs.push_everything]: unknown job (jobs: push_sales_order",
        ),
        (
            "[jobs.notify]\nmax_attempts = 0\n",
            "[jobs.notify]: max_attempts: Input should be greater than or equal to 1",
        ),
        ("[jobs.notify]\nmin_backoff = 100\nmax_backoff = 10\n", "max_backoff must not be below min_backoff"),
        ('[stock_sync]\nsource = "wms"\n', "[stock_sync] source 'wms' is not a configured erp or wms role"),
        (
            "[stock_sync]\ninterval = -1\n",
            "[stock_sync]: interval: Input should be greater than or equal to 0",
        ),
        ("[other]\nx = 1\n", "unknown top-level key(s): other"),
    ],
    ids=[
        "unknown-notifier",
        "not-a-notifier",
        "no-events",
        "unknown-rule-key",
        "rules-not-tables",
        "unknown-job",
        "zero-attempts",
        "backoff-order",
        "bad-stock-source",
        "negative-interval",
        "unknown-section",
    ],  # fmt: skip
)
def test_mistakes_stop_start_up_with_one_line(tmp_path: Path, extra: str, expected: str) -> None:
    with pytest.raises(ConfigError) as e:
        load(tmp_path, extra)
    message = str(e.value)
    assert expected in message, message
    assert message.startswith(f"HUB_CONNECTORS_FILE: {tmp_path / 'hub.toml'}") and "\n" not in message
