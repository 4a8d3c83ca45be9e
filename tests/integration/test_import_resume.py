"""An import interrupted by a crash after the directory created the users resumes, with the
same Idempotency-Key, without creating anyone twice (the real Graph adapter and stand-in)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devhost.graph import GraphStandIn
from devhost.standin import make_server, serve_in_thread
from shared.adapters.graph_directory import GraphDirectory
from shared.adapters.sqlite_queue import SqliteMessageQueue
from shared.adapters.sqlite_store import SqliteDocumentStore
from shared.documents import partner_pk
from shared.services.msa_association import LinkService
from shared.services.users import UserService


class Crash(Exception):
    pass


@pytest.fixture
def graph() -> Iterator[tuple[GraphStandIn, str]]:
    standin = GraphStandIn()
    server = make_server([standin], port=0)
    serve_in_thread(server)
    yield standin, f"http://127.0.0.1:{server.server_address[1]}/_dev/graph/v1.0"
    server.shutdown()
    server.server_close()


def test_a_crash_after_the_directory_created_users_resumes_without_duplicates(tmp_path: Path, graph: tuple[GraphStandIn, str]) -> None:
    standin, base = graph
    store = SqliteDocumentStore(tmp_path / "s.sqlite3")
    directory = GraphDirectory(base, lambda tenant: f"devhost:{tenant}", sleep=lambda _s: None)
    service = UserService(
        store,
        SqliteMessageQueue(tmp_path / "q.sqlite3"),
        lambda: directory,
        links=LinkService(store),
        max_rows=100,
        inline_rows=50,
        log_ttl_hours=24,
    )
    tenant = str(uuid.uuid4())
    partner: dict[str, Any] = {"partnerId": "p1", "tenantId": tenant}
    rows = [{"displayName": f"Person {i}", "email": f"person{i}@x.com"} for i in range(25)]

    original = store.replace
    crashes = {"left": 1}

    def replace_then_crash(pk: str, doc: dict[str, Any], *, if_match: str | None = None) -> Any:
        if doc.get("type") == "importRows" and crashes["left"]:
            crashes["left"] -= 1
            raise Crash("the worker died after Graph created the users")
        return original(pk, doc, if_match=if_match)

    store.replace = replace_then_crash  # type: ignore[method-assign,assignment]
    with pytest.raises(Crash):
        service.start_import(partner, rows, idempotency_key="nightly-export", actor="admin")
    assert len(standin.users(tenant)) == 25  # created in the directory, not yet recorded

    view, finished = service.start_import(partner, rows, idempotency_key="nightly-export", actor="admin")
    assert finished and view["counts"] == {"pending": 0, "created": 25, "exists": 0, "failed": 0}
    assert len(standin.users(tenant)) == 25  # nobody twice
    assert {r["userId"] for r in view["results"]} == {u["id"] for u in standin.users(tenant)}
    assert len(store.query(partner_pk("p1"), types=["user"])) == 25
    log = service.download_log("p1", view["importId"])
    passwords = {r["userPrincipalName"]: r["temporaryPassword"] for r in csv.DictReader(io.StringIO(log, newline=""))}
    for user in standin.users(tenant):  # the log has the password each account was created with
        assert passwords[user["userPrincipalName"]] == standin.password_profile(tenant, user["id"])["password"]
    directory.close()


def test_a_queued_import_never_claims_an_account_created_meanwhile(tmp_path: Path, graph: tuple[GraphStandIn, str]) -> None:
    standin, base = graph
    store = SqliteDocumentStore(tmp_path / "s.sqlite3")
    directory = GraphDirectory(base, lambda tenant: f"devhost:{tenant}", sleep=lambda _s: None)
    service = UserService(
        store,
        SqliteMessageQueue(tmp_path / "q.sqlite3"),
        lambda: directory,
        links=LinkService(store),
        max_rows=100,
        inline_rows=2,
        log_ttl_hours=24,
    )
    tenant = str(uuid.uuid4())
    partner: dict[str, Any] = {"partnerId": "p1", "tenantId": tenant}
    rows = [{"displayName": f"Sam {i}", "email": f"sam@site{i}.example"} for i in range(3)]
    view, finished = service.start_import(partner, rows, idempotency_key="queued", actor="admin")
    assert not finished  # 202: continues in the background
    planned = service.get_import("p1", view["importId"])["results"][0]["userPrincipalName"]  # the 202 answer has counts only
    # Meanwhile someone creates that very name in the directory (not through the suite).
    taken = httpx.post(
        f"{base}/users",
        headers={"Authorization": f"Bearer devhost:{tenant}"},
        json={
            "accountEnabled": True,
            "displayName": "Someone else",
            "mailNickname": planned.split("@")[0],
            "userPrincipalName": planned,
            "passwordProfile": {"password": "Their-Own-Pass-1"},
        },
    ).json()["id"]

    service.run_import(partner, view["importId"])
    results = {r["row"]: r for r in service.get_import("p1", view["importId"])["results"]}
    assert all(r["status"] == "created" for r in results.values())
    assert results[1]["userId"] != taken and results[1]["userPrincipalName"] != planned
    assert standin.check_password(tenant, planned, "Their-Own-Pass-1")  # their account untouched
    log = service.download_log("p1", view["importId"])
    for row in csv.DictReader(io.StringIO(log, newline="")):
        assert standin.check_password(tenant, row["userPrincipalName"], row["temporaryPassword"])
    assert len(standin.users(tenant)) == 4
    directory.close()
