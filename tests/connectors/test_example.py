"""The example third-party connector (examples/hub-connector-example), installed as its own
distribution, is discovered by entry point and passes the notifier contract."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "hub-connector-example"


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example installed into a folder of its own (not into the hub's environment)."""
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-cache-dir", "--target", str(target), str(EXAMPLE)],
        capture_output=True, text=True, timeout=300, cwd=build,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return target


def _env(site: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env | extra


def test_an_installed_third_party_connector_is_discovered(installed_example: Path, tmp_path: Path) -> None:
    # given a connector file naming the example's connector
    conf = tmp_path / "hub.toml"
    conf.write_text(
        f'[connectors.notify.ops]\nconnector = "jsonl"\npath = "{tmp_path / "m.jsonl"}"\n', encoding="utf-8"
    )
    env = _env(
        installed_example, HUB_CONNECTORS_FILE=str(conf), HUB_DATABASE_URL=f"sqlite:///{tmp_path / 'h.db'}"
    )
    # when the hub lists and checks connectors
    listed = subprocess.run([sys.executable, "-m", "hub.cli", "connectors", "list"], env=env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    checked = subprocess.run([sys.executable, "-m", "hub.cli", "connectors", "check", "notify.ops"], env=env,
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    # then the example is installed from its own distribution, configured and reachable
    assert listed.returncode == 0, listed.stderr
    assert "hub_connector_example:JsonlNotifier  (hub-connector-example 0.1.0)" in listed.stdout
    assert "notify.ops" in listed.stdout
    assert (
        checked.returncode == 0
        and f"notify.ops (jsonl): ok: appends to {tmp_path / 'm.jsonl'}" in checked.stdout
    )


def test_the_example_passes_the_notifier_contract(installed_example: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(EXAMPLE), str(EXAMPLE / "tests")],
        env=_env(installed_example), capture_output=True, text=True, timeout=120, cwd=EXAMPLE,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    assert "2 passed" in result.stdout
