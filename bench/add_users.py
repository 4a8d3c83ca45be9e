"""Bulk provisioning: 1,000 users through the real Graph adapter against the Graph stand-in
with 50 ms latency per HTTP request: Graph requests used, and the speed-up against sending
one request per user in sequence (measured in the same run)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from devhost.graph import GraphStandIn
from devhost.standin import make_server, serve_in_thread
from shared.adapters.graph_directory import GraphDirectory
from shared.domain.provisioning import temporary_password
from shared.ports import NewDirectoryUser

LATENCY_MS = 50


def _users(n: int, domain: str, prefix: str) -> list[NewDirectoryUser]:
    return [
        NewDirectoryUser(
            ref=str(i),
            user_principal_name=f"{prefix}{i}@{domain}",
            display_name=f"User {i}",
            mail_nickname=f"{prefix}{i}",
            password=temporary_password(),
        )
        for i in range(n)
    ]


def measure(*, users: int, sequential_sample: int, progress: Callable[[str], None]) -> dict[str, Any]:
    standin = GraphStandIn()
    server = make_server([standin], port=0)
    serve_in_thread(server)
    base = f"http://127.0.0.1:{server.server_address[1]}/_dev/graph/v1.0"
    tenant = str(uuid.uuid4())
    token = f"devhost:{tenant}"
    standin.latency_ms = LATENCY_MS
    try:
        directory = GraphDirectory(base, lambda _t: token, max_concurrency=4)
        domain = next(d.name for d in directory.list_domains(tenant) if d.is_default)
        standin.reset_counters()
        started = time.perf_counter()
        results = directory.create_users(tenant, _users(users, domain, "b"))
        batched = time.perf_counter() - started
        requests = standin.request_count
        created = sum(1 for r in results if r.status == "created")
        progress(f"{created} users in {requests} Graph requests, {batched:.2f} s")

        # The baseline: one POST /users per user, one after another (a sample, per user).
        with httpx.Client(timeout=30) as client:
            started = time.perf_counter()
            for user in _users(sequential_sample, domain, "s"):
                response = client.post(
                    f"{base}/users",
                    headers={"Authorization": f"Bearer {token}"},
                    json={
                        "accountEnabled": True,
                        "displayName": user.display_name,
                        "mailNickname": user.mail_nickname,
                        "userPrincipalName": user.user_principal_name,
                        "passwordProfile": {"password": user.password, "forceChangePasswordNextSignIn": True},
                    },
                )
                assert response.status_code == 201, response.text
            per_user = (time.perf_counter() - started) / sequential_sample
        sequential = per_user * users
        progress(f"sequential: {1000 * per_user:.0f} ms per user ({sequential_sample} sent) -> {sequential:.1f} s for {users}")
        directory.close()
    finally:
        server.shutdown()
        server.server_close()
    return {
        "users": users,
        "created": created,
        "latency_ms_per_request": LATENCY_MS,
        "graph_requests_per_1000": round(requests * 1000 / users, 1),
        "batched_s": round(batched, 2),
        "sequential_s": round(sequential, 2),
        "sequential_measured_users": sequential_sample,
        "speedup_vs_sequential": round(sequential / batched, 1),
    }
