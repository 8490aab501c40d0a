"""A private ``redis-server`` for tests that need a real broker and want to stop it.

The machine's shared Redis (6379) is never touched: each test gets its own server on a spare
loopback port, without persistence (``--save '' --appendonly no``: a restart starts empty, like
a broker that lost what it held), which the test may stop and start again on the same port and
which is always killed at teardown.

Without the ``redis-server`` binary the tests that need it are skipped, except on CI
(``CI=true``), where that is a failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["RedisServer", "private_redis", "redis_server", "require_redis_server", "spare_port"]

SHARED_PORT = 6379  # the machine's own Redis: never ours to start, stop or flush


def spare_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port != SHARED_PORT:
            return port


def require_redis_server() -> str:
    """The path of ``redis-server``; skips the test without it (fails on CI)."""
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}: CI must run the broker fault tests", pytrace=False)
        pytest.skip(message)
    return binary


class RedisServer:
    """One ``redis-server`` process on ``port``, stopped and started on demand."""

    def __init__(self, binary: str, port: int, workdir: Path) -> None:
        assert port != SHARED_PORT, "never the shared Redis"
        self.binary = binary
        self.port = port
        self.workdir = workdir
        self.url = f"redis://127.0.0.1:{port}/0"
        self.log = workdir / f"redis-{port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and wait until it answers PING."""
        assert not self.running, "already running"
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.workdir), "--daemonize", "no",
                "--protected-mode", "yes", "--loglevel", "warning", "--logfile", str(self.log)]  # fmt: skip
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, cwd=self.workdir)  # fmt: skip
        deadline = time.monotonic() + timeout
        while not self.ping():
            if self.proc.poll() is not None:
                tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
                raise AssertionError(
                    f"redis-server on port {self.port} exited ({self.proc.returncode}): {tail}"
                )
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"redis-server on port {self.port} did not answer in {timeout} s")
            time.sleep(0.02)

    def ping(self) -> bool:
        """True when something answers Redis's PING on our port."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the server (what it held is gone) and wait until the port refuses connections."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: no persistence configured, so nothing is written
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    def restart(self) -> None:
        """Stop and start again on the same port (empty: nothing was persisted)."""
        self.stop()
        self.start()

    def kill(self) -> None:
        """SIGKILL, for teardown: nothing outlives the test."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait(timeout=5)
            self.proc = None


@contextlib.contextmanager
def private_redis(workdir: Path) -> Iterator[RedisServer]:
    """A running private ``redis-server`` on a spare loopback port, killed on the way out
    (skips without the binary, fails on CI)."""
    binary = require_redis_server()
    workdir.mkdir(parents=True, exist_ok=True)
    for attempt in range(3):
        server = RedisServer(binary, spare_port(), workdir)
        try:
            server.start()
        except AssertionError:
            server.kill()
            if attempt == 2:  # the port was taken between our look and redis-server's bind
                raise
            continue
        break
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """:func:`private_redis` as a fixture."""
    with private_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server
