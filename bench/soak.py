"""``python -m bench.soak [--seconds N] [--clients N]`` (``make soak``): a bounded soak of the
local host as its own process on Cosmos DB (cosmosdb-server) and Storage queues (Azurite).

Mixed traffic (evaluation reads, user lists, health, single-user adds, evaluations, alert
listings) from a few clients for a fixed time; reports requests, errors (any 5xx), the p99
latency of the first and of the last minute, and the host's resident memory at the start and
at the end, to show that nothing degrades or leaks over time. Writes bench/soak.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.servers import azurite_server, cosmos_server, free_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "soak.json"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def p99(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1)


def run(seconds: float, clients: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with cosmos_server(work / "cosmos") as cosmos, azurite_server(work / "azurite") as azurite:
            port = free_port()
            env = {
                **os.environ,
                "COSMOS_ENDPOINT": cosmos.endpoint,
                "COSMOS_KEY": cosmos.key,
                "COSMOS_CONNECTION_VERIFY": "false",
                "AzureWebJobsStorage": azurite.connection_string,
                "LOG_LEVEL": "WARNING",
                "PYTHONWARNINGS": "ignore:Unverified HTTPS request",
            }
            host = subprocess.Popen(
                [sys.executable, "-m", "devhost", "serve", "--port", str(port), "--data-dir", str(work / "host")],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=(work / "host.log").open("wb"),
            )
            try:
                return _soak(f"http://localhost:{port}", host.pid, seconds, clients)
            finally:
                host.terminate()
                host.wait(timeout=20)


def _soak(base: str, pid: int, seconds: float, clients: int) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/health", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)

    def token(tenant: str, roles: list[str], user: str | None = None) -> dict[str, str]:
        minted = httpx.post(f"{base}/_dev/entra/token", json={"tenant": tenant, "roles": roles, "user": user or str(uuid.uuid4())})
        return {"Authorization": "Bearer " + minted.json()["access_token"]}

    operator = token("program", ["Program.Operator"])
    partners = []
    for i in range(4):
        partner_id, tenant = f"soak-{i}", str(uuid.uuid4())
        httpx.put(
            f"{base}/api/partners/{partner_id}", headers=operator, json={"displayName": "Soak", "tenantId": tenant}
        ).raise_for_status()
        httpx.post(f"{base}/api/partners/{partner_id}/evaluations", headers=operator, timeout=30).raise_for_status()
        partners.append((partner_id, token(tenant, ["Partner.Admin"])))

    samples: list[tuple[float, float, int]] = []  # (offset, seconds, status)
    lock = threading.Lock()
    started = time.monotonic()
    memory_start = rss_mib(pid)

    def client(seed: int) -> None:
        rng = random.Random(seed)
        mine: list[tuple[float, float, int]] = []
        with httpx.Client(base_url=f"{base}/api", timeout=30) as http:
            while (now := time.monotonic()) - started < seconds:
                partner_id, admin = rng.choice(partners)
                roll = rng.random()
                if roll < 0.5:
                    request = http.build_request("GET", f"/partners/{partner_id}/competencies", headers=admin)
                elif roll < 0.7:
                    request = http.build_request("GET", f"/partners/{partner_id}/users", headers=admin)
                elif roll < 0.8:
                    request = http.build_request("GET", "/health")
                elif roll < 0.9:
                    request = http.build_request("GET", f"/partners/{partner_id}/alerts", headers=admin)
                elif roll < 0.97:
                    body = {"users": [{"displayName": "Soak", "email": f"s{uuid.uuid4().hex[:12]}@soak.example"}]}
                    request = http.build_request("POST", f"/partners/{partner_id}/users", headers=admin, json=body)
                else:
                    request = http.build_request("POST", f"/partners/{partner_id}/evaluations", headers=operator)
                response = http.send(request)
                mine.append((now - started, time.monotonic() - now, response.status_code))
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    memory_end = rss_mib(pid)
    window = min(60.0, seconds / 2)
    first = [d for at, d, _ in samples if at < window]
    last = [d for at, d, _ in samples if at >= seconds - window]
    return {
        "seconds": seconds,
        "clients": clients,
        "requests": len(samples),
        "errors": sum(1 for _, _, status in samples if status >= 500),
        "p99_first_minute_ms": p99(first),
        "p99_last_minute_ms": p99(last),
        "memory_start_mib": memory_start,
        "memory_end_mib": memory_end,
        "date": time.strftime("%Y-%m-%d"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak")
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    result = run(args.seconds, args.clients)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
