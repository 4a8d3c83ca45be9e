"""The HTTP surface: ``GET /api/partners/{id}/competencies`` through the local host (its own
process, embedded store), 20 concurrent clients for a bounded time on loopback."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent


def _wait(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the local host did not answer {url}")


def measure(data_dir: Path, *, clients: int, seconds: float, progress: Callable[[str], None]) -> dict[str, Any]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COSMOS_", "AZUREWEBJOBS", "ALERTS_"))}
    host = subprocess.Popen(
        [sys.executable, "-m", "devhost", "serve", "--port", str(port), "--data-dir", str(data_dir)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://localhost:{port}"  # the issuer the host trusts names localhost
    try:
        _wait(f"{base}/api/health")

        def token(tenant: str, roles: list[str]) -> str:
            response = httpx.post(f"{base}/_dev/entra/token", json={"tenant": tenant, "roles": roles, "user": str(uuid.uuid4())})
            return str(response.json()["access_token"])

        tenant = str(uuid.uuid4())
        operator = {"Authorization": "Bearer " + token(str(uuid.uuid4()), ["Program.Operator"])}
        partner_id = "bench-http"
        httpx.put(
            f"{base}/api/partners/{partner_id}", headers=operator, json={"displayName": "Bench", "tenantId": tenant}
        ).raise_for_status()
        httpx.post(f"{base}/api/partners/{partner_id}/evaluations", headers=operator, timeout=30).raise_for_status()
        member = {"Authorization": "Bearer " + token(tenant, [])}
        url = f"{base}/api/partners/{partner_id}/competencies"
        latencies: list[float] = []
        errors = 0
        lock = threading.Lock()
        stop_at = time.monotonic() + seconds

        def client() -> None:
            nonlocal errors
            mine: list[float] = []
            bad = 0
            with httpx.Client(headers=member, timeout=10) as http:
                http.get(url)  # connect (keep-alive) before measuring
                while time.monotonic() < stop_at:
                    started = time.perf_counter()
                    status = http.get(url).status_code
                    mine.append(time.perf_counter() - started)
                    bad += status != 200
            with lock:
                latencies.extend(mine)
                errors += bad

        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        host.terminate()
        host.wait(timeout=20)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    result = {
        "clients": clients,
        "seconds": seconds,
        "requests": len(latencies),
        "errors": errors,
        "requests_per_s": round(len(latencies) / seconds, 1),
        "competencies_p50_ms": round(1000 * statistics.median(latencies), 1),
        "competencies_p99_ms": round(1000 * p99, 1),
    }
    progress(
        f"{result['requests']} requests, p50 {result['competencies_p50_ms']} ms, p99 {result['competencies_p99_ms']} ms, {errors} errors"
    )
    return result
