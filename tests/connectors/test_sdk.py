"""Connector discovery, the connector file, secrets, and `hub connectors`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.erp import ErpConnector
from connectors.erp.memory import MemoryErp
from connectors.erp.testing import ErpContract
from connectors.notify import Notifier
from connectors.registry import installed, load
from connectors.sdk import ExternalRef
from connectors.wms import WmsConnector
from hub.integration import describe, load_connectors
from hub.settings import ConfigError, Settings

SECRET = "s3cret-value-never-shown"
GOOD = f"""
[connectors.erp]
connector = "memory"
prefix = "K3"
token = "{SECRET}"

[connectors.wms]
connector = "memory"

[connectors.notify.sales]
connector = "log"
level = "WARNING"
"""


def _settings(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "hub.toml"
    path.write_text(text, encoding="utf-8")
    return Settings(connectors_file=path)


def _error(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as e:
        load_connectors(_settings(tmp_path, text), env or {})
    message = str(e.value)
    assert "\n" not in message and SECRET not in message
    return message


def test_the_built_ins_are_found_through_their_entry_points() -> None:
    # when the installed connectors are listed
    found = {(i.kind, i.name): i for i in installed()}
    # then each built-in is there, from this distribution, like a third party would be
    assert set(found) >= {("erp", "memory"), ("wms", "memory"), ("notify", "log")}
    assert found[("erp", "memory")].target == "connectors.erp.memory:MemoryErp"
    assert found[("erp", "memory")].distribution.startswith("ordering-hub ")
    # and each loads as a class implementing its kind's protocol
    for (kind, name), protocol in {("erp", "memory"): ErpConnector, ("wms", "memory"): WmsConnector,
                                   ("notify", "log"): Notifier}.items():  # fmt: skip
        cls = load(kind, name)
        assert isinstance(cls(cls.Settings()), protocol)


def test_a_configured_file_gives_validated_typed_settings_per_role(tmp_path: Path) -> None:
    instances = load_connectors(_settings(tmp_path, GOOD), {})
    assert sorted(instances) == ["erp", "notify.sales", "wms"]
    erp = instances["erp"]
    assert (erp.kind, erp.connector, erp.settings.prefix) == ("erp", "memory", "K3")
    assert erp.settings.token.get_secret_value() == SECRET
    assert instances["notify.sales"].settings.level == "WARNING"
    assert isinstance(erp.create(), MemoryErp)


def test_the_environment_overrides_a_setting_of_a_role(tmp_path: Path) -> None:
    env = {"HUB_CONNECTOR_ERP__TOKEN": "from-env", "HUB_CONNECTOR_NOTIFY_SALES__LEVEL": "ERROR"}
    instances = load_connectors(_settings(tmp_path, GOOD), env)
    assert instances["erp"].settings.token.get_secret_value() == "from-env"
    assert instances["notify.sales"].settings.level == "ERROR"


def test_secrets_never_appear_in_listings_or_reprs(tmp_path: Path) -> None:
    settings = _settings(tmp_path, GOOD)
    instances = load_connectors(settings, {})
    text = describe(settings, instances)
    assert "token=**********" in text and "prefix='K3'" in text
    assert (
        SECRET not in text and SECRET not in repr(instances["erp"].settings) and SECRET not in repr(instances)
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[connectors.erp]\nconnector = "sap"\n', "no erp connector named 'sap' is installed (installed: "),
        (
            '[connectors.erp]\nconnector = "memory"\nprefixx = "A"\n',
            "[connectors.erp] (memory): prefixx: Extra inputs are not permitted",
        ),
        (
            f'[connectors.erp]\nconnector = "memory"\nfail = "{SECRET}"\n',
            "[connectors.erp] (memory): fail: Input should be",
        ),
        ('[connectors.erp]\nconnector = "memory"\ntoken = 42\n', "token: Input should be a valid string"),
        ('[connectors.erp]\nprefix = "A"\n', '[connectors.erp] needs connector = "<name>"'),
        (
            '[connectors.crm]\nconnector = "x"\n',
            "unknown connector kind [connectors.crm] (kinds: erp, wms, notify)",
        ),
        ('[connectors.notify."Sales Team"]\nconnector = "log"\n', "bad role name 'notify.Sales Team'"),
        ('[connectors.notify.a-b]\nconnector = "log"\n', "bad role name 'notify.a-b'"),
        ('[connectors.notify.a_]\nconnector = "log"\n', "bad role name 'notify.a_'"),
        ('[connectors.erp\nconnector = "memory"\n', "not valid TOML"),
        ("[other]\nx = 1\n", "unknown top-level key(s): other"),
    ],
    ids=[
        "unknown-connector",
        "unknown-setting",
        "bad-value",
        "wrong-type",
        "no-connector",
        "unknown-kind",
        "bad-role",
        "dash-in-role",
        "trailing-underscore",
        "bad-toml",
        "unknown-table",
    ],  # fmt: skip
)
def test_a_bad_connector_file_stops_start_up_with_one_line(tmp_path: Path, text: str, expected: str) -> None:
    message = _error(tmp_path, text)
    assert expected in message, message
    assert message.startswith(f"HUB_CONNECTORS_FILE: {tmp_path / 'hub.toml'}")


def test_a_bad_value_from_the_environment_names_the_setting_not_the_value(tmp_path: Path) -> None:
    message = _error(tmp_path, GOOD, {"HUB_CONNECTOR_ERP__FAIL": SECRET})
    assert "[connectors.erp] (memory): fail:" in message


def test_a_missing_connector_file_is_a_setting_error() -> None:
    with pytest.raises(ConfigError, match="HUB_CONNECTORS_FILE names no readable file"):
        Settings.from_env({"HUB_CONNECTORS_FILE": "/nonexistent/hub.toml"})


def test_the_contract_suite_fails_a_connector_that_duplicates_documents() -> None:
    # given an ERP that creates a new document on every push
    class Duplicating(MemoryErp):
        async def push_sales_order(self, order):  # type: ignore[no-untyped-def]
            self._next += 1
            return ExternalRef(str(self._next))

    class Contract(ErpContract):
        async def make_connector(self) -> Duplicating:
            return Duplicating(Duplicating.Settings())

    # when the contract's idempotency test runs on it, then it fails
    import asyncio

    with pytest.raises(AssertionError):
        asyncio.run(Contract().test_a_sales_order_pushed_twice_exists_once())


def _hub(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")} | env
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args], env=full, capture_output=True, text=True, timeout=60
    )


def test_hub_connectors_list_and_check_as_commands(tmp_path: Path) -> None:
    path = tmp_path / "hub.toml"
    path.write_text(GOOD, encoding="utf-8")
    env = {"HUB_CONNECTORS_FILE": str(path), "HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}"}
    # list: installed and configured, secrets masked
    listed = _hub(["connectors", "list"], env)
    assert listed.returncode == 0, listed.stderr
    assert "erp     memory" in listed.stdout and "notify.sales" in listed.stdout
    assert SECRET not in listed.stdout + listed.stderr
    # check: a live verdict, exit 0
    ok = _hub(["connectors", "check", "erp"], env)
    assert (ok.returncode, ok.stdout.strip()) == (0, "erp (memory): ok: in-memory ERP (0 sales orders held)")
    # check of a peer that fails: the verdict and exit 1, no traceback
    failing = _hub(["connectors", "check", "erp"], env | {"HUB_CONNECTOR_ERP__FAIL": "transient"})
    assert failing.returncode == 1
    assert (
        failing.stdout.strip() == "erp (memory): FAILED: TransientError: memory ERP told to fail (transient)"
    )
    assert "Traceback" not in failing.stderr
    # an unconfigured role: exit 2, one line listing the configured ones
    unknown = _hub(["connectors", "check", "notify.purchasing"], env)
    assert unknown.returncode == 2
    assert "configured: erp, notify.sales, wms" in unknown.stderr and unknown.stderr.count("\n") == 1


def test_hub_serve_refuses_to_start_with_a_bad_connector_setting(tmp_path: Path) -> None:
    path = tmp_path / "hub.toml"
    path.write_text('[connectors.erp]\nconnector = "nope"\n', encoding="utf-8")
    env = {
        "HUB_CONNECTORS_FILE": str(path),
        "HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}",
        "HUB_PORT": "1",
    }
    result = _hub(["serve"], env)
    assert result.returncode == 2
    assert "no erp connector named 'nope' is installed" in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr


def test_a_kinds_own_role_and_named_roles_stand_side_by_side(tmp_path: Path) -> None:
    text = '[connectors.notify]\nconnector = "log"\n\n[connectors.notify.sales]\nconnector = "log"\nlevel = "ERROR"\n'
    instances = load_connectors(_settings(tmp_path, text), {})
    assert sorted(instances) == ["notify", "notify.sales"]
    assert (instances["notify"].settings.level, instances["notify.sales"].settings.level) == ("INFO", "ERROR")
