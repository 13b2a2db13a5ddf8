#!/usr/bin/env python3
"""Bench driver for `npm run bench -- sdk`: N sync `runs.create` calls, C in flight (threads).

Env: AIRMY_BASE_URL, AIRMY_API_KEY, AIRMY_CA_FILE, BENCH_AGENT, BENCH_N (1000),
BENCH_CONCURRENCY (50). Prints one JSON line:
{"sdk":"python","n":N,"seconds":S,"p50_ms":x,"p99_ms":y}
One client is shared by all threads, as an application would: its pool keeps a connection per
thread alive, so the figures are the SDK's cost, not TLS handshakes.
BENCH_RAW=1 makes the same calls with bare `http.client` (a kept-alive connection per thread, no
retries, no parsing beyond the status): the baseline for the SDK's own overhead in Python.
BENCH_RAW=idempotent also sends a fresh Idempotency-Key per call, as the SDK does on every POST:
the server's idempotency work (storing each answer) is then in both figures.
"""
from __future__ import annotations

import http.client
import json
import os
import ssl
import sys
import threading
import time
import uuid
from typing import List

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "src"))

from airmy import Airmy  # noqa: E402


def percentile(sorted_ms: List[float], p: float) -> float:
    rank = max(1, int(-(-p * len(sorted_ms) // 100)))  # nearest rank
    return round(sorted_ms[rank - 1], 2)


def raw_caller(agent: str, idempotent: bool):
    """A per-thread `create()` over one bare keep-alive connection."""
    url = os.environ.get("AIRMY_BASE_URL", "https://127.0.0.1:8443/v2")
    host_port, _, prefix = url.split("://", 1)[1].partition("/")
    host, _, port = host_port.partition(":")
    context = ssl.create_default_context(cafile=os.environ.get("AIRMY_CA_FILE") or None)
    headers = {"Authorization": "Bearer " + os.environ["AIRMY_API_KEY"], "Content-Type": "application/json"}
    body = json.dumps({"agent_id": agent, "input": {"query": "bench"}})
    local = threading.local()

    def create() -> None:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPSConnection(host, int(port or 443), context=context)
        sent = dict(headers, **{"Idempotency-Key": str(uuid.uuid4())}) if idempotent else headers
        conn.request("POST", "/%s/runs" % prefix, body=body, headers=sent)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError("HTTP %d" % response.status)

    return create


def main() -> None:
    n = int(os.environ.get("BENCH_N", "1000"))
    concurrency = int(os.environ.get("BENCH_CONCURRENCY", "50"))
    agent = os.environ["BENCH_AGENT"]
    mode = os.environ.get("BENCH_RAW", "")
    raw = mode in ("1", "idempotent")
    client = Airmy(ca_file=os.environ.get("AIRMY_CA_FILE") or None)
    create = raw_caller(agent, mode == "idempotent") if raw else (lambda: client.runs.create(agent_id=agent, input={"query": "bench"}))
    latencies: List[float] = []
    errors: List[BaseException] = []
    lock = threading.Lock()
    remaining = [n]

    def worker() -> None:
        while True:
            with lock:
                if remaining[0] == 0:
                    return
                remaining[0] -= 1
            started = time.perf_counter()
            try:
                create()
            except BaseException as exc:  # noqa: BLE001 - reported below
                with lock:
                    errors.append(exc)
                continue
            elapsed = (time.perf_counter() - started) * 1000.0
            with lock:
                latencies.append(elapsed)

    create()  # warm-up
    started = time.perf_counter()
    cpu_started = time.process_time()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    cpu_us = (time.process_time() - cpu_started) / n * 1e6
    client.close()
    if errors:
        print("%d of %d calls failed, first: %r" % (len(errors), n, errors[0]), file=sys.stderr)
        sys.exit(1)
    latencies.sort()
    # client CPU per call on stderr: far less sensitive to a loaded machine than wall time
    print("client cpu per call: %.0f us" % cpu_us, file=sys.stderr)
    print(json.dumps({"sdk": ("python-raw-idempotent" if mode == "idempotent" else "python-raw") if raw else "python", "n": n, "seconds": round(seconds, 3),
                      "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99)},
                     separators=(",", ":")))


if __name__ == "__main__":
    main()
