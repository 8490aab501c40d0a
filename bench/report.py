"""What the benchmarks say: log lines on stderr, Markdown tables on stdout, and the JSON
results in ``bench/results/`` (git-ignored)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import RESULTS, ROOT


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def new_stamp() -> str:
    """The run's timestamp, which names its files in bench/results/ (created if need be)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def git_info() -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "commit": git("rev-parse", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


def machine_info() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_at_start": os.getloadavg(),
    }


def write_json(path: Path, report: dict[str, Any]) -> None:
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# The API benchmark
# ---------------------------------------------------------------------------------------------


def fmt(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def markdown(results: list[dict[str, Any]]) -> str:
    out = [
        "| scenario | requests | req/s | p50 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        m = r["measured"]
        out.append(
            f"| {r['title']} | {m['requests']:,} | {fmt(m['req_per_s'])}"
            f" | {fmt(m['latency_ms']['p50'], 2)}"
            f" | {fmt(m['latency_ms']['p99'], 2)} | {m['errors']} |"
        )
    return "\n".join(out)


def cpu_markdown(results: list[dict[str, Any]]) -> str:
    out = [
        "| scenario | load generator CPU | µs CPU / request | server CPU (main thread + others)"
        " | postgres CPU | other processes | machine busy |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        c = r["cpu"]
        n = r["measured"]["requests"] or 1
        out.append(
            f"| {r['name']} | {c['client_cpu_s']:.2f} s"
            f" ({c['client_cpu_pct_of_core']:.0f} % of a core)"
            f" | {1e6 * c['client_cpu_s'] / n:.0f} | {c['server_cpu_pct_of_core']:.0f} %"
            f" ({c['server_main_thread_cpu_pct_of_core']:.0f} + "
            f"{c['server_other_threads_cpu_pct_of_core']:.0f})"
            f" | {c['postgres_cpu_pct_of_core']:.0f} %"
            f" | {c['other_cpu_pct_of_core']:.0f} %"
            f" | {c['machine_busy_pct']:.0f} % of {os.cpu_count()} cores |"
        )
    return "\n".join(out)


def db_markdown(results: list[dict[str, Any]]) -> str:
    out = [
        "| scenario | commits | rollbacks | new PG sessions | deadlocks | time in statements per request |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        d = r["database"]
        if not d:
            continue
        n = r["measured"]["requests"] or 1
        out.append(
            f"| {r['name']} | {d['xact_commit']:,.0f} | {d['xact_rollback']:,.0f}"
            f" | {d['sessions']:,.0f} | {d['deadlocks']:.0f} | {d['active_time'] / n:.2f} ms |"
        )
    return "\n".join(out)


def print_api_report(report: dict[str, Any], out_path: Path) -> None:
    """The API benchmark's closing report on stdout: the tables, then one line per finding."""
    results = report["scenarios"]
    p = report["parameters"]
    print()
    print(
        f"Ordering hub benchmark, {report['started_at']}, commit {report['git']['commit'][:10]}"
        f"{' (dirty)' if report['git']['dirty'] else ''}; {p['concurrency']} clients,"
        f" {p['duration_s']:g}s per scenario after {p['warmup_s']:g}s warm-up;"
        f" {os.cpu_count()} CPUs shared by server, PostgreSQL and load generator."
    )

    print()
    print(markdown(results))
    print()
    print(cpu_markdown(results))
    print()
    print(db_markdown(results))
    print()
    for r in results:
        bd = r["measured"]["error_breakdown"]
        wbd = r["warmup"]["errors"]
        if r["measured"]["errors"] or wbd:
            print(f"- errors in {r['name']}: measured {json.dumps(bd, ensure_ascii=False)}; warm-up {wbd}")
    if "oversell_check" in report:
        c = report["oversell_check"]
        print(
            f"- Oversell check: {'PASSED' if c['passed'] else 'FAILED'} —"
            f" {c['stock_rows']} stock rows, {c['orders_accepted_by_client']} orders /"
            f" {c['units_accepted_by_client']} units accepted,"
            f" {c['units_reserved']} units reserved over {c['skus_with_reservations']} SKUs"
            f" ({c['rows_reserved_outside_first_warehouse']} rows reserved outside the first"
            " warehouse);"
            f" violations {c['violation_counts']}"
        )
        print(
            f"- Outbox after the order scenarios: {report.get('outbox_after_orders')};"
            f" 1 s later: {report.get('outbox_1s_later')};"
            f" after the server stopped: {report.get('outbox_after_server_stop')}"
        )
        after = report.get("outbox_after_server_stop") or {}
        if after.get("events", 0) > after.get("handled", 0):
            print(
                f"- NOTE: {after['events'] - after['handled']} outbox events were never handled"
                " by the time the server had shut down (see the report)"
            )
    if "server_log" in report:
        sl = report["server_log"]
        print(
            f"- Server log {sl['path']}: {sl['lines']} lines, {sl['error_lines']} ERROR,"
            f" {sl['warning_lines']} WARNING, {sl['tracebacks']} tracebacks;"
            f" {'graceful shutdown' if sl['graceful_shutdown'] else 'NO graceful shutdown'}"
            f" (exit code {report.get('server_exit_code')};"
            " -15 is uvicorn re-raising SIGTERM after shutdown)"
        )
    busy = [r["name"] for r in results if r["cpu"]["other_cpu_pct_of_core"] > 15]
    if busy:
        print(
            f"- WARNING: other processes used > 15 % of a core during {', '.join(busy)}:"
            " those numbers understate the hub (see the CPU table; --wait-idle S helps)"
        )
    if "fatal_error" in report:
        print(f"- FATAL: the run stopped early: {report['fatal_error']}")
    print(f"- Total errors, warm-up included: {report.get('total_errors_including_warmup', 'n/a')}")
    print(f"- Results: {out_path.relative_to(ROOT)}")


# ---------------------------------------------------------------------------------------------
# The integration benchmark
# ---------------------------------------------------------------------------------------------


def integration_summary(report: dict[str, Any]) -> str:
    p = report["parameters"]
    git = report["git"]
    out = [
        f"Integration benchmark, {report['started_at']}, commit {git['commit'][:10]}"
        f"{' (dirty)' if git['dirty'] else ''}; {p['events']:,} events/messages after {p['warmup']:,} warm-up,"
        f" {p['workers']} worker process(es) x {p['threads']} threads"
        + (" — PROFILED with py-spy, figures not comparable" if p["py_spy"] else ""),
        "",
    ]
    if "raw" in report and "hub" in report:
        raw, hub = report["raw"], report["hub"]
        out += [
            "| path | count | seconds | per second |",
            "|---|---:|---:|---:|",
            f"| raw Dramatiq, no-op async actor (first send → last processed) | {raw['messages']:,}"
            f" | {raw['seconds']:.2f} | {raw['per_s']:,.0f} msgs/s |",
            f"| hub: outbox → relay → handle_events → job → dispatcher → null notifier (commit → last SUCCEEDED)"
            f" | {hub['events']:,} | {hub['seconds']:.2f} | {hub['per_s']:,.0f} events/s |",
            "",
            f"**ratio hub / raw: {100 * report['ratio']:.1f} %** (target ≥ 50 %)",
            "",
            "| phase | workers CPU | PostgreSQL | Redis | this process | other | machine busy |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for label, phase in (("raw", raw), ("hub", hub)):
            c = phase["cpu"]
            out.append(
                f"| {label} | {c['workers_pct_of_core']:.0f} % | {c['postgres_pct_of_core']:.0f} %"
                f" | {c['redis_pct_of_core']:.0f} % | {c['bench_pct_of_core']:.0f} % | {c['other_pct_of_core']:.0f} %"
                f" | {c['machine_busy_pct']:.0f} % of {report['machine']['cpus']} cores |"
            )
        n = hub["events"]
        out += [
            "",
            f"CPU per event on the hub path: workers {1e6 * hub['cpu']['workers_cpu_s'] / n:,.0f} µs,"
            f" PostgreSQL {1e6 * hub['cpu']['postgres_cpu_s'] / n:,.0f} µs, Redis {1e6 * hub['cpu']['redis_cpu_s'] / n:,.0f} µs;"
            f" raw per message: workers {1e6 * raw['cpu']['workers_cpu_s'] / raw['messages']:,.0f} µs,"
            f" Redis {1e6 * raw['cpu']['redis_cpu_s'] / raw['messages']:,.0f} µs",
        ]
        ch = hub["checks"]
        out += [
            "",
            f"check: {'PASSED' if ch['passed'] else 'FAILED'} — {ch['events']:,} events ({ch['events_handled']:,} handled),"
            f" {ch['jobs']:,} jobs for {ch['events_with_a_job']:,} events ({ch['events_without_a_job']} without one),"
            f" {ch['jobs_succeeded']:,} SUCCEEDED, {ch['jobs_with_one_attempt']:,} after one attempt,"
            f" {ch['connector_calls']:,} connector calls {ch['connector_calls_per_worker']}",
            f"worker logs: raw {raw['problems']['error_lines']} error line(s), hub {hub['problems']['error_lines']}"
            f" error line(s), {hub['problems']['warning_lines']} warning(s); exit codes raw {raw['exit_codes']},"
            f" hub {hub['exit_codes']}",
        ]
    if "error" in report:
        out.append(f"run failed: {report['error']}")
    return "\n".join(out)
