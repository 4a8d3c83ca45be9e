"""What Microsoft Graph really does, in the stand-in and handled by the adapter and the import:
permissions and consent, federated domains, write throttling (token bucket), conflict details
(userPrincipalName vs proxyAddresses) and replication lag. Graph time runs on a fake clock."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devhost.graph import APP_TENANT_WRITES, GraphStandIn, default_domain_for
from devhost.standin import make_server, serve_in_thread
from shared.adapters.graph_directory import GraphDirectory
from shared.adapters.sqlite_queue import SqliteMessageQueue
from shared.adapters.sqlite_store import SqliteDocumentStore
from shared.errors import ProblemError
from shared.ports import DirectoryPermissionError, NewDirectoryUser
from shared.services.msa_association import LinkService
from shared.services.users import UserService

PASSWORD = "Str0ng!Passw0rd"
ROWS = 25


class FakeClock:
    """Graph's clock and the adapter's sleep: sleeping moves the time on, instantly."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds
            self.slept.append(seconds)


class Graph:
    def __init__(self, standin: GraphStandIn, base_url: str, clock: FakeClock) -> None:
        self.standin, self.base_url, self.clock = standin, base_url, clock

    def directory(self, **kwargs: Any) -> GraphDirectory:
        return GraphDirectory(self.base_url, lambda t: f"devhost:{t}", sleep=self.clock.sleep, **kwargs)

    def raw(self, tenant: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, self.base_url + path, headers={"Authorization": f"Bearer devhost:{tenant}"}, **kwargs)


@pytest.fixture
def graph() -> Iterator[Graph]:
    clock = FakeClock()
    standin = GraphStandIn(clock=clock)
    server = make_server([standin], port=0)
    thread = serve_in_thread(server)
    yield Graph(standin, f"http://127.0.0.1:{server.server_address[1]}/_dev/graph/v1.0", clock)
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def service(tmp_path: Path, graph: Graph) -> Iterator[UserService]:
    directory = graph.directory()
    store = SqliteDocumentStore(tmp_path / "s.sqlite3")
    yield UserService(
        store,
        SqliteMessageQueue(tmp_path / "q.sqlite3"),
        lambda: directory,
        links=LinkService(store),
        max_rows=5000,
        inline_rows=5000,
        log_ttl_hours=24,
    )
    directory.close()


def new_partner(domain: str | None = None) -> dict[str, Any]:
    partner: dict[str, Any] = {"partnerId": "p-" + uuid.uuid4().hex[:8], "tenantId": str(uuid.uuid4())}
    if domain:
        partner["primaryDomain"] = domain
    return partner


def user(upn: str, ref: str = "1") -> NewDirectoryUser:
    return NewDirectoryUser(ref=ref, user_principal_name=upn, display_name="Someone", mail_nickname=upn.split("@")[0], password=PASSWORD)


# --- 2. permissions and consent -------------------------------------------------------------


def test_without_consent_graph_answers_each_batch_item_403_and_domains_403(graph: Graph) -> None:
    tenant = str(uuid.uuid4())
    graph.standin.grant(tenant, ["User.Read.All"])
    body = {"requests": [{"id": "1", "method": "POST", "url": "/users", "body": {}}, {"id": "2", "method": "GET", "url": "/users/a@b"}]}
    batch = graph.raw(tenant, "POST", "/$batch", json=body)
    assert batch.status_code == 200  # as Graph: the batch succeeds, its items are refused
    first, second = batch.json()["responses"]
    assert first["status"] == 403 and first["body"]["error"]["code"] == "Authorization_RequestDenied"
    assert second["status"] == 404  # reading is granted
    domains = graph.raw(tenant, "GET", "/domains")
    assert domains.status_code == 403 and domains.json()["error"]["code"] == "Authorization_RequestDenied"


def test_the_adapter_names_the_permission_to_consent(graph: Graph) -> None:
    tenant = str(uuid.uuid4())
    graph.standin.grant(tenant, [])
    with graph.directory() as directory:
        with pytest.raises(DirectoryPermissionError, match=r"User\.ReadWrite\.All"):
            directory.create_users(tenant, [user(f"a@{default_domain_for(tenant)}")])
        with pytest.raises(DirectoryPermissionError, match=r"Domain\.Read\.All"):
            directory.list_domains(tenant)
    assert graph.standin.users(tenant) == []


def test_a_denied_import_fails_as_a_whole_then_resumes_once_consent_is_granted(graph: Graph, service: UserService) -> None:
    partner = new_partner()
    graph.standin.grant(partner["tenantId"], ["User.Read.All", "Domain.Read.All"])  # no User.ReadWrite.All
    rows = [{"displayName": f"Person {i}", "email": f"person{i}@x.com"} for i in range(45)]

    with pytest.raises(ProblemError) as info:
        service.start_import(partner, rows, idempotency_key="k1", actor="admin")
    assert info.value.status == 403 and info.value.slug == "directory-consent-missing"
    assert "User.ReadWrite.All" in info.value.detail and "admin consent" in info.value.detail
    [stored] = service._store.query(f"partner:{partner['partnerId']}", types=["import"])
    view = service.get_import(partner["partnerId"], stored.body["importId"])
    assert view["state"] == "failed" and "User.ReadWrite.All" in view["error"]
    assert view["counts"] == {"pending": 45, "created": 0, "exists": 0, "failed": 0}  # not 45 failed rows

    graph.standin.grant(partner["tenantId"], None)  # the admin consents
    view, finished = service.start_import(partner, rows, idempotency_key="k1", actor="admin")
    assert finished and view["state"] == "completed" and "error" not in view
    assert view["counts"]["created"] == 45 and len(graph.standin.users(partner["tenantId"])) == 45


# --- 3. federated domains -----------------------------------------------------------------------


def test_graph_refuses_a_password_user_in_a_federated_domain(graph: Graph) -> None:
    tenant = str(uuid.uuid4())
    graph.standin.add_domain(tenant, "contoso.example", federated=True)
    with graph.directory() as directory:
        [result] = directory.create_users(tenant, [user("ada@contoso.example")])
    assert result.status == "failed" and result.error and "SourceAnchor is a required property" in result.error


def test_users_go_to_a_verified_managed_domain_the_primary_when_it_is_one(graph: Graph, service: UserService) -> None:
    federated = new_partner("contoso.example")
    graph.standin.add_domain(federated["tenantId"], "contoso.example", federated=True)
    view, _ = service.start_import(federated, [{"displayName": "Ada", "email": "ada@x.com"}], idempotency_key=None, actor="a")
    assert view["results"][0]["userPrincipalName"] == f"ada@{default_domain_for(federated['tenantId'])}"
    assert view["counts"]["created"] == 1

    managed = new_partner("fabrikam.example")
    graph.standin.add_domain(managed["tenantId"], "fabrikam.example")
    view, _ = service.start_import(managed, [{"displayName": "Ada", "email": "ada@x.com"}], idempotency_key=None, actor="a")
    assert view["results"][0]["userPrincipalName"] == "ada@fabrikam.example"


def test_a_tenant_without_a_managed_domain_is_told_so_and_nothing_is_stored(graph: Graph, service: UserService) -> None:
    partner = new_partner()
    graph.standin.add_domain(partner["tenantId"], default_domain_for(partner["tenantId"]), federated=True)
    with pytest.raises(ProblemError) as info:
        service.start_import(partner, [{"displayName": "Ada", "email": "ada@x.com"}], idempotency_key=None, actor="a")
    assert info.value.status == 409 and info.value.slug == "no-managed-domain" and "managed domain" in info.value.detail
    assert service._store.query(f"partner:{partner['partnerId']}") == []


# --- 4. write throttling: a token bucket ----------------------------------------------------------


def test_the_write_bucket_refills_over_its_window(graph: Graph) -> None:
    tenant = str(uuid.uuid4())
    domain = default_domain_for(tenant)
    for _ in range(APP_TENANT_WRITES):
        graph.standin._take_write(tenant, "POST", "/users")  # spend the quota without 3,000 requests
    refused = graph.raw(tenant, "POST", "/users", json={})
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    graph.clock.sleep(0.06)  # 3,000 per 150 s: a write every 50 ms
    body = {"accountEnabled": True, "displayName": "A", "mailNickname": "a", "userPrincipalName": f"a@{domain}"}
    accepted = graph.raw(tenant, "POST", "/users", json={**body, "passwordProfile": {"password": PASSWORD}})
    assert accepted.status_code == 201
    assert graph.raw(tenant, "GET", "/users/" + f"a@{domain}").status_code == 200  # reads are not writes


def test_a_1000_row_import_under_sustained_throttling_ends_with_no_failed_row(graph: Graph, service: UserService) -> None:
    partner = new_partner()
    graph.standin.configure_throttling(300, 150.0)  # a tenth of Graph's quota: 2 writes a second
    rows = [{"displayName": f"Person {i}", "email": f"person{i}@x.com"} for i in range(1000)]

    view, finished = service.start_import(partner, rows, idempotency_key=None, actor="admin")

    assert finished and view["counts"] == {"pending": 0, "created": 1000, "exists": 0, "failed": 0}
    assert graph.standin.throttled_count > 100  # throttled all along, waited out
    assert len(graph.standin.users(partner["tenantId"])) == 1000
    assert graph.clock.now - 1000.0 >= (1000 - 300) / 2  # the quota, not the retry count, set the pace


def test_throttling_beyond_the_time_budget_fails_the_item_with_the_reason(graph: Graph) -> None:
    tenant = str(uuid.uuid4())
    graph.standin.configure_throttling(1, 100_000.0)
    with graph.directory(throttle_budget=60.0) as directory:
        first, second = directory.create_users(
            tenant, [user(f"a@{default_domain_for(tenant)}", "1"), user(f"b@{default_domain_for(tenant)}", "2")]
        )
    assert {first.status, second.status} == {"created", "failed"}
    failed = first if first.status == "failed" else second
    assert failed.error and "throttling" in failed.error


# --- 5. conflicts as Graph answers them ----------------------------------------------------------


def test_conflicts_carry_object_conflict_details_and_proxy_addresses_are_invisible_to_reads(graph: Graph) -> None:
    tenant = str(uuid.uuid4())
    domain = default_domain_for(tenant)
    graph.standin.seed_proxy_address(tenant, f"smtp:sam@{domain}")
    body = {"accountEnabled": True, "displayName": "S", "mailNickname": "s", "passwordProfile": {"password": PASSWORD}}
    taken = graph.raw(tenant, "POST", "/users", json={**body, "userPrincipalName": f"sam@{domain}"})
    assert taken.status_code == 400
    assert taken.json()["error"]["details"] == [
        {"code": "ObjectConflict", "message": taken.json()["error"]["message"], "target": "proxyAddresses"}
    ]
    assert graph.raw(tenant, "GET", f"/users/sam@{domain}").status_code == 404
    graph.raw(tenant, "POST", "/users", json={**body, "userPrincipalName": f"ada@{domain}"})
    again = graph.raw(tenant, "POST", "/users", json={**body, "userPrincipalName": f"ada@{domain}"})
    assert [d["target"] for d in again.json()["error"]["details"]] == ["userPrincipalName"]

    with graph.directory() as directory:
        results = directory.create_users(tenant, [user(f"sam@{domain}", "1"), user(f"ada@{domain}", "2")])
    assert [r.status for r in results] == ["taken", "exists"]


def test_a_name_used_as_an_address_moves_to_the_next_free_name(graph: Graph, service: UserService) -> None:
    partner = new_partner()
    domain = default_domain_for(partner["tenantId"])
    graph.standin.seed_proxy_address(partner["tenantId"], f"sam@{domain}")  # an old address of someone
    rows = [{"displayName": "Sam One", "email": "sam@x.com"}, {"displayName": "Sam Two", "email": "sam@y.com"}]

    view, _ = service.start_import(partner, rows, idempotency_key=None, actor="admin")

    assert view["counts"] == {"pending": 0, "created": 2, "exists": 0, "failed": 0}
    names = {r["row"]: r["userPrincipalName"] for r in view["results"]}
    assert names == {1: f"sam3@{domain}", 2: f"sam2@{domain}"}  # sam2 was row 2's already
    assert sorted(u["userPrincipalName"] for u in graph.standin.users(partner["tenantId"])) == sorted(names.values())
    assert {u["mailNickname"] for u in graph.standin.users(partner["tenantId"])} == {"sam3", "sam2"}


# --- 6. replication lag -------------------------------------------------------------------------


def test_a_read_after_already_exists_is_retried_while_replication_lags(graph: Graph) -> None:
    tenant = str(uuid.uuid4())
    upn = f"ada@{default_domain_for(tenant)}"
    graph.standin.configure_faults(replication_lag_seconds=5.0)
    with graph.directory() as directory:
        [created] = directory.create_users(tenant, [user(upn)])
        assert graph.raw(tenant, "GET", f"/users/{upn}").status_code == 404  # not replicated yet
        [again] = directory.create_users(tenant, [user(upn)])
    assert created.status == "created" and again.status == "exists"
    assert again.user == created.user
    assert sum(graph.clock.slept) >= 5.0  # read again with backoff until the replica had it


def test_an_import_on_cosmos_db_keeps_its_rows_in_chunk_documents(
    tmp_path: Path, graph: Graph, cosmos: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same import on the Cosmos DB protocol server (which refuses items over 2 MB), with
    chunks of 10 rows so that a few dozen rows span several chunk documents."""
    from shared.adapters.cosmos_store import CosmosDocumentStore
    from shared.services import users

    monkeypatch.setattr(users, "CHUNK", 10)
    store = CosmosDocumentStore(
        cosmos.endpoint, database="imports", container=f"c{uuid.uuid4().hex[:12]}", key=cosmos.key, connection_verify=False
    )
    directory = graph.directory()
    service = UserService(
        store,
        SqliteMessageQueue(tmp_path / "q.sqlite3"),
        lambda: directory,
        links=LinkService(store),
        max_rows=500,
        inline_rows=500,
        log_ttl_hours=24,
    )
    partner = new_partner()
    rows = [{"displayName": f"Person {i}", "email": f"person{i}@x.com"} for i in range(ROWS)]
    try:
        view, finished = service.start_import(partner, rows, idempotency_key="cosmos", actor="admin")
        again = service.get_import(partner["partnerId"], view["importId"])
    finally:
        directory.close()
        store.close()
    assert finished and view["counts"]["created"] == ROWS
    assert [r["row"] for r in again["results"]] == list(range(1, ROWS + 1)) and again["results"] == view["results"]
    assert len({r["userId"] for r in again["results"]}) == ROWS
