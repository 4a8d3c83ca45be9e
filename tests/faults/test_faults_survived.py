"""Faults survived: the local host, as its own process on Cosmos DB (cosmosdb-server) and
Storage queues (Azurite), through a paused store during the nightly run, a paused queue
service during an import and during alert dispatch, a kill -9 mid-run with a restart on the
same data, and a flapping Logic App.

After recovery: every partner is evaluated for the run, every import row is created exactly
once, each alert reaches the receiver (deduplicated by id) and shows delivered, nothing is
stuck or poisoned, and no caller got a 500 during any outage (a 503 naming the dependency,
quickly, with Retry-After).
"""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from devhost.standin import Request, Response
from shared.auth import ROLE_ADMIN, ROLE_FEED, ROLE_OPERATOR
from tests.receiver import Receiver, receiver
from tests.servers import ROOT, AzuriteServer, CosmosServer, azurite_server, cosmos_server, free_port

pytestmark = pytest.mark.servers

PROGRAM_TENANT = "00000000-0000-0000-0000-0000000f7a11"  # the program's own tenant (tenant ids are GUIDs)
FAULTS = (
    "Cosmos DB paused during the nightly run",
    "Storage queues paused during a background import",
    "host killed (kill -9) mid-run and restarted on the same data",
    "Storage queues paused during alert dispatch",
    "Logic App flapping (every other delivery fails)",
)
TIMEOUT = 2.0  # DEPENDENCY_TIMEOUT_SECONDS of the host under test
FAIL_FAST = 2 * TIMEOUT + 2  # the longest a caller may wait for a 503 during an outage
PARTNERS = 3
IMPORT_ROWS = 8


class FlappingReceiver(Receiver):
    """A Logic App that fails every other request."""

    def __init__(self) -> None:
        super().__init__()
        self._requests = 0

    def handle(self, request: Request) -> Response:
        with self._lock:
            self._requests += 1
            flap = self._requests % 2 == 1
        if flap:
            return Response.json({"error": "flapping"}, 503)
        return super().handle(request)


@contextmanager
def paused(pid: int) -> Iterator[None]:
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


@dataclass
class HostProcess:
    """``python -m devhost serve`` as its own process, so that it can be killed with -9."""

    data_dir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://localhost:{self.port}"

    def start(self) -> None:
        log = (self.data_dir / "host.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devhost", "serve", "--port", str(self.port), "--data-dir", str(self.data_dir)],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.data_dir / "host.log").read_text()[-3000:]
            try:
                if httpx.get(self.base_url + "/api/health", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError("the host did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


class Client:
    """Calls the host and remembers every answer (no 500, ever)."""

    def __init__(self, host: HostProcess) -> None:
        self.host = host
        self.answers: list[tuple[str, int, float]] = []
        self.http = httpx.Client(timeout=30)

    def token(self, tenant: str, *, user: str | None = None, roles: tuple[str, ...] = ()) -> dict[str, str]:
        body = {"tenant": tenant, "user": user, "roles": list(roles), "lifetime": 3600}
        minted = self.http.post(self.host.base_url + "/_dev/entra/token", json=body)
        return {"Authorization": "Bearer " + minted.json()["access_token"]}

    def operator(self) -> dict[str, str]:
        return self.token(PROGRAM_TENANT, roles=(ROLE_OPERATOR,))

    def feed(self) -> dict[str, str]:
        return self.token(PROGRAM_TENANT, roles=(ROLE_FEED,))

    def admin(self, tenant: str) -> dict[str, str]:
        return self.token(tenant, roles=(ROLE_ADMIN,))

    def call(self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        started = time.monotonic()
        response = self.http.request(method, self.host.base_url + "/api" + path, headers=headers, **kwargs)
        self.answers.append((f"{method} {path}", response.status_code, time.monotonic() - started))
        return response

    def timer(self, name: str) -> None:
        """What the timer's schedule would do a little later (the sweeps run every 5 minutes)."""
        assert self.http.post(self.host.base_url + f"/admin/functions/{name}").status_code == 202


@dataclass
class Partner:
    partner_id: str
    tenant: str
    alert_ids: set[str] = field(default_factory=set)


def register(client: Client, ca: Path) -> Partner:
    """A partner that attains Cloud Platform silver at its first evaluation (an alert)."""
    partner = Partner("f-" + uuid.uuid4().hex[:10], str(uuid.uuid4()))
    put = client.call("PUT", f"/partners/{partner.partner_id}", client.operator(), json={"displayName": "F", "tenantId": partner.tenant})
    assert put.status_code == 201, put.text
    admin = client.admin(partner.tenant)
    added = client.call(
        "POST", f"/partners/{partner.partner_id}/users", admin, json={"users": [{"displayName": "Ada", "email": "ada@f.example"}]}
    )
    assert added.status_code == 201, added.text
    user = added.json()["results"][0]["userId"]
    member = client.token(partner.tenant, user=user)
    start = client.call("POST", "/me/msa-link", member, json={"loginHint": f"ada-{partner.partner_id}@outlook.example"})
    assert start.status_code == 200, start.text
    with httpx.Client(verify=ssl.create_default_context(cafile=str(ca)), timeout=30) as browser:
        signed_in = browser.get(start.json()["authorizationUrl"])
    callback = signed_in.headers["location"].removeprefix(client.host.base_url + "/api")
    answer = client.call("GET", callback, {"Accept": "application/json"})
    assert answer.status_code == 200, answer.text
    code_and_state = {k: answer.json()[k] for k in ("code", "state")}
    linked = client.call("POST", "/me/msa-link/complete", member, json=code_and_state)
    assert linked.status_code == 200, linked.text
    achievement = {"msaId": linked.json()["msaId"], "kind": "exam", "code": "70-533", "earnedOn": "2026-01-10"}
    assert client.call("POST", "/achievements", client.feed(), json={"achievements": [achievement]}).status_code in (200, 201)
    figures = {"asOf": "2026-10-31", "metrics": [{"metric": "revenueUsd", "competencyId": "cloud-platform", "value": 20000}]}
    assert client.call("PUT", f"/partners/{partner.partner_id}/performance", client.feed(), json=figures).status_code in (200, 201)
    return partner


def assert_fails_fast(response: httpx.Response, dependency: str, client: Client) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] and response.json()["dependency"] == dependency
    assert client.answers[-1][2] < FAIL_FAST, client.answers[-1]


def eventually(condition: Callable[[], bool], seconds: float, client: Client) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        client.timer("resume_imports")
        client.timer("sweep_alerts")
        time.sleep(1.0)
    raise AssertionError(f"not recovered within {seconds:.0f} s")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CosmosServer, AzuriteServer, FlappingReceiver]]:
    """Servers of its own: pausing them must not disturb other tests."""
    work = tmp_path_factory.mktemp("faults")
    with cosmos_server(work / "cosmos") as cosmos, azurite_server(work / "azurite") as azurite, receiver(FlappingReceiver()) as sink:
        assert isinstance(sink, FlappingReceiver)
        yield cosmos, azurite, sink


def test_faults_survived(stack: tuple[CosmosServer, AzuriteServer, FlappingReceiver], tmp_path: Path) -> None:
    cosmos, azurite, sink = stack
    env = {
        **os.environ,
        "COSMOS_ENDPOINT": cosmos.endpoint,
        "COSMOS_KEY": cosmos.key,
        "COSMOS_CONNECTION_VERIFY": "false",
        "COSMOS_DATABASE": "faults",
        "AzureWebJobsStorage": azurite.connection_string,
        "DEPENDENCY_TIMEOUT_SECONDS": str(TIMEOUT),
        "IMPORT_INLINE_ROWS": "5",
        "IMPORT_STALL_SECONDS": "5",
        "ALERTS_WEBHOOK_URL": sink.url,
        "ALERTS_BACKOFF_SECONDS": "1",
        "ALERTS_BACKOFF_MAX_SECONDS": "2",
        "EVALUATION_SCHEDULE": "0 0 0 1 1 *",
        "LOG_LEVEL": "INFO",
        "PYTHONWARNINGS": "ignore:Unverified HTTPS request",  # the test server's self-signed certificate
    }
    host = HostProcess(tmp_path, env)
    host.start()
    client = Client(host)
    try:
        ca = tmp_path / "devhost" / "tls" / "ca.pem"
        partners = [register(client, ca) for _ in range(PARTNERS)]
        first = partners[0]
        admin = client.admin(first.tenant)

        # 1. Cosmos DB paused in the middle of the nightly run: callers get a quick 503.
        client.timer("nightly_evaluation")
        with paused(cosmos.pid):
            assert_fails_fast(client.call("GET", f"/partners/{first.partner_id}/users", admin), "data store", client)
            assert_fails_fast(client.call("GET", f"/partners/{first.partner_id}/competencies", admin), "data store", client)

        # 2. Storage queues paused while a large import is accepted: the plan is saved, the
        # send fails (503 naming the queue), and the retry with the same key sends it again.
        rows = {"users": [{"displayName": f"Row {i}", "email": f"row{i}@f.example"} for i in range(IMPORT_ROWS)]}
        key = {"Idempotency-Key": "faults-import"}
        with paused(azurite.pid):
            assert_fails_fast(
                client.call("POST", f"/partners/{first.partner_id}/users", {**admin, **key}, json=rows), "message queue", client
            )
            health = client.call("GET", "/health")
            assert health.status_code == 200 and health.json()["status"] == "degraded", health.text
        retried = client.call("POST", f"/partners/{first.partner_id}/users", {**admin, **key}, json=rows)
        assert retried.status_code == 202, retried.text
        import_id = retried.json()["importId"]

        # 3. kill -9 mid-run (evaluations retrying, the import in flight), restart on the same data.
        host.kill()
        host.start()
        admin = client.admin(first.tenant)

        # 4. Storage queues paused while alerts are being dispatched (to a flapping Logic App).
        def alerts_of(partner: Partner) -> list[dict[str, Any]]:
            answer = client.call("GET", f"/partners/{partner.partner_id}/alerts", client.admin(partner.tenant))
            return list(answer.json()["alerts"]) if answer.status_code == 200 else []

        eventually(lambda: any(alerts_of(p) for p in partners), 60, client)
        with paused(azurite.pid):
            time.sleep(3)

        # Recovery: everything done, exactly once.
        def evaluated(partner: Partner) -> bool:
            return client.call("GET", f"/partners/{partner.partner_id}/competencies", client.admin(partner.tenant)).status_code == 200

        def recovered() -> bool:
            imported = client.call("GET", f"/partners/{first.partner_id}/imports/{import_id}", admin).json()
            alerts = [a for p in partners for a in alerts_of(p)]
            return (
                all(evaluated(p) for p in partners)
                and imported.get("state") == "completed"
                and len(alerts) >= PARTNERS
                and all(a["delivery"]["state"] == "delivered" for a in alerts)
            )

        eventually(recovered, 90, client)

        evaluations = [client.call("GET", f"/partners/{p.partner_id}/competencies", client.admin(p.tenant)).json() for p in partners]
        assert len({e["evaluatedAt"] for e in evaluations}) == 1  # all of the same nightly run
        imported = client.call("GET", f"/partners/{first.partner_id}/imports/{import_id}", admin).json()
        assert imported["counts"] == {"pending": 0, "created": IMPORT_ROWS, "exists": 0, "failed": 0}
        users = client.call("GET", f"/partners/{first.partner_id}/users", admin).json()["users"]
        created = [u for u in users if u["email"] and u["email"].startswith("row")]
        assert len(created) == IMPORT_ROWS == len({u["email"] for u in created}) == len({u["userPrincipalName"] for u in created})
        stored_alerts = {a["id"] for p in partners for a in alerts_of(p)}
        assert stored_alerts == set(sink.ids())  # each alert reached the Logic App (deduplicated by id)
        assert all(any(a["type"] == "competency.level.attained" for a in alerts_of(p)) for p in partners)
        health = client.call("GET", "/health").json()
        assert health == {"status": "ok", "poisonMessages": dict.fromkeys(health["poisonMessages"], 0)}
        assert [a for a in client.answers if a[1] >= 500 and a[1] != 503] == []  # no 500, ever
    finally:
        host.stop()
        client.http.close()
