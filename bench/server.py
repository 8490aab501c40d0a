"""The processes under test: one ``hub serve`` (and, in the production shape, one ``hub
worker``) for the API benchmark; worker processes of ``python -m bench.workers``
for the integration benchmark; py-spy recorders. Each logs to its own file under
``bench/results/``; after the run the logs are scanned for errors."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import ROOT
from bench.client import HttpResponseError, http_get
from bench.report import log

NULL_LINE = re.compile(r"null notifier: (\d+) message\(s\) dropped")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def hub_binary() -> str:
    exe = Path(sys.executable).with_name("hub")
    return str(exe if exe.exists() else ROOT / ".venv" / "bin" / "hub")


def server_env(database_url: str, secret: str, redis_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_DATABASE_URL"] = database_url
    env["HUB_SECRET_KEY"] = secret
    if redis_url:
        env["HUB_REDIS_URL"] = redis_url
    return env


def stop_processes(procs: list[subprocess.Popen[bytes]], timeout: float) -> list[int | None]:
    """SIGTERM to every process still running, then wait for each up to ``timeout`` seconds
    and kill it after that: the exit codes (None for a killed process)."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    codes: list[int | None] = []
    for p in procs:
        try:
            codes.append(p.wait(timeout=timeout))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            codes.append(None)
    return codes


def scan_log(text_: str) -> dict[str, Any]:
    """Error and warning lines and tracebacks of a process log."""
    lines = text_.splitlines()
    errors = [x for x in lines if " ERROR " in x or " CRITICAL " in x]
    warnings = [x for x in lines if " WARNING " in x]
    return {
        "lines": len(lines),
        "error_lines": len(errors),
        "warning_lines": len(warnings),
        "tracebacks": text_.count("Traceback (most recent call last)"),
        "first_errors": errors[:5],
        "first_warnings": warnings[:5],
    }


class Server:
    """``hub serve --port <port>`` and, with ``redis_url``, one ``hub worker`` beside it."""

    def __init__(
        self, database_url: str, secret: str, port: int, log_path: Path, redis_url: str | None = None
    ) -> None:
        self.port = port
        self.log_path = log_path
        self.log = open(log_path, "wb")
        env = server_env(database_url, secret, redis_url)
        self.proc = subprocess.Popen(
            [hub_binary(), "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        # Production shape: jobs run in their own `hub worker` process (not counted as server CPU).
        self.worker_log = open(log_path.with_suffix(".worker.log"), "wb") if redis_url else None
        self.worker = (
            subprocess.Popen(
                [hub_binary(), "worker", "--threads", "4"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=self.worker_log,
                stderr=subprocess.STDOUT,
            )
            if redis_url
            else None
        )

    async def wait_ready(self, within_s: float = 60.0) -> None:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub serve exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                status, body = await http_get("127.0.0.1", self.port, "/healthz")
                if status == 200:
                    return
            except (OSError, TimeoutError, HttpResponseError):
                pass
            await asyncio.sleep(0.2)
        raise RuntimeError(f"hub serve did not answer /healthz within {within_s:.0f}s:\n{self.tail()}")

    def tail(self, n: int = 30) -> str:
        self.log.flush()
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])

    def stop(self) -> int | None:
        if self.worker is not None:
            stop_processes([self.worker], timeout=30)
        if self.worker_log is not None:
            self.worker_log.close()
        stop_processes([self.proc], timeout=20)
        self.log.close()
        return self.proc.returncode

    def log_problems(self) -> dict[str, Any]:
        text_ = self.log_path.read_text(errors="replace")
        found = scan_log(text_)
        return {
            "lines": found["lines"],
            "error_lines": found["error_lines"],
            "warning_lines": found["warning_lines"],
            "tracebacks": found["tracebacks"],
            "graceful_shutdown": "Finished server process" in text_,
            "first_errors": found["first_errors"],
            "first_warnings": found["first_warnings"],
        }


class Workers:
    """``count`` worker processes of one mode (``python -m bench.workers --worker-mode <mode>``),
    each logging to its own file."""

    def __init__(self, mode: str, count: int, threads: int, redis_url: str, namespace: str,
                 env: dict[str, str], log_prefix: Path) -> None:  # fmt: skip
        self.logs = [log_prefix.with_name(f"{log_prefix.name}-{mode}-worker{k}.log") for k in range(count)]
        self.procs: list[subprocess.Popen[bytes]] = []
        for path in self.logs:
            with open(path, "wb") as out:
                self.procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "bench.workers", "--worker-mode", mode,
                         "--namespace", namespace, "--threads", str(threads),
                         "--redis-url", redis_url],
                        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    )
                )  # fmt: skip

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    async def wait_ready(self, client: Any, namespace: str, within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        want = {str(p) for p in self.pids}
        while time.monotonic() < deadline:
            for proc, path in zip(self.procs, self.logs, strict=True):
                if proc.poll() is not None:
                    raise RuntimeError(f"worker exited with {proc.returncode}; see {path}")
            ready = {k.decode() for k in client.hkeys(f"{namespace}:bench:ready")}
            if want <= ready:
                return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"workers not ready within {within:.0f} s; see {self.logs}")

    def stop(self) -> list[int | None]:
        return stop_processes(self.procs, timeout=60)

    def problems(self) -> dict[str, Any]:
        found = scan_log("\n".join(p.read_text(errors="replace") for p in self.logs))
        return {k: found[k] for k in ("error_lines", "warning_lines", "tracebacks", "first_errors")}

    def null_calls(self) -> list[int | None]:
        """Per worker, the connector calls its null notifier logged when it stopped (None: no
        line; a worker that never built the notifier logs nothing)."""
        out: list[int | None] = []
        for path in self.logs:
            found = NULL_LINE.findall(path.read_text(errors="replace"))
            out.append(sum(int(x) for x in found) if found else None)
        return out


class PySpy:
    def __init__(self, out_dir: Path | None, pids: list[int], stamp: str) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        if out_dir is None:
            return
        out_dir.mkdir(parents=True, exist_ok=True)
        spy = Path(sys.executable).with_name("py-spy")
        for k, pid in enumerate(pids):
            target = out_dir / f"{stamp}-hub-worker{k}.speedscope.json"
            self.procs.append(
                subprocess.Popen(
                    [str(spy), "record", "--pid", str(pid), "--rate", "200", "--format", "speedscope",
                     "--threads", "--output", str(target)],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                )
            )  # fmt: skip
            log(f"py-spy recording worker {pid} into {target}")

    def stop(self) -> None:
        for p in self.procs:
            p.send_signal(signal.SIGINT)
        for p in self.procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
