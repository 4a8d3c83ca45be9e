"""Adding users through the local host: the real Graph adapter against the Graph stand-in."""

from __future__ import annotations

import csv
import io
import time
import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Api

CSV_EXPORT = (
    "\ufeffFirst name,Last name,Email address,Display name,Office\r\n"
    "Ada,Lovelace,ada.lovelace@contoso.com,Ada Lovelace,London\r\n"
    '"Grace","Hopper","grace@contoso.com","Hopper, Grace",Arlington\r\n'
    "Bad,Row,not-an-email,Bad Row,\r\n"
    "Ada,Again,ada.lovelace@contoso.com,Ada Again,\r\n"
    "José,Núñez,jose.nunez@contoso.com,José Núñez,Madrid\r\n"
)


def add(api: Api, partner_id: str, tenant: str, body: Any, *, csv_body: bool = False, key: str | None = None) -> Any:
    headers = {"Content-Type": "text/csv" if csv_body else "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    content = body.encode("utf-8") if csv_body else None
    return api.request(
        "POST", f"/partners/{partner_id}/users", as_=api.admin(tenant), headers=headers, content=content, json=None if csv_body else body
    )


def log_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_an_admin_adds_users_from_a_real_world_csv_and_downloads_the_log_once(api: Api) -> None:
    partner_id, tenant = api.register_partner()
    response = add(api, partner_id, tenant, CSV_EXPORT, csv_body=True, key="import-1")
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/api/partners/{partner_id}/imports/{body['importId']}"
    statuses = {r["row"]: r["status"] for r in body["results"]}
    assert statuses == {1: "created", 2: "created", 3: "failed", 4: "failed", 5: "created"}
    errors = {r["row"]: r.get("error", "") for r in body["results"]}
    assert "email" in errors[3] and "row 1" in errors[4]
    upns = {r["row"]: r["userPrincipalName"] for r in body["results"] if r["status"] == "created"}
    domain = upns[1].split("@")[1]
    assert upns[1] == f"ada.lovelace@{domain}" and upns[5] == f"jose.nunez@{domain}"
    assert "temporaryPassword" not in response.text and "password" not in response.text.lower()

    # The directory holds exactly the created users, with forced password change.
    graph_users = api.host.graph.users(tenant)
    assert sorted(u["userPrincipalName"] for u in graph_users) == sorted(upns.values())
    profiles = {u["userPrincipalName"]: api.host.graph.password_profile(tenant, u["id"]) for u in graph_users}
    assert all(p["forceChangePasswordNextSignIn"] for p in profiles.values())

    log = api.request("GET", f"/partners/{partner_id}/imports/{body['importId']}/log", as_=api.admin(tenant))
    assert log.status_code == 200
    assert log.headers["content-type"].startswith("text/csv")
    assert log.headers["cache-control"] == "no-store"
    rows = log_rows(log.text)
    assert list(rows[0]) == ["userPrincipalName", "displayName", "temporaryPassword", "status", "message"]
    created = [r for r in rows if r["status"] == "created"]
    assert len(created) == 3 and all(len(r["temporaryPassword"]) >= 12 for r in created)
    passwords = {r["temporaryPassword"] for r in created}
    by_upn = {upn: p["password"] for upn, p in profiles.items()}
    assert {by_upn[r["userPrincipalName"]] for r in created} == passwords  # the passwords Graph got

    again = api.request("GET", f"/partners/{partner_id}/imports/{body['importId']}/log", as_=api.admin(tenant))
    assert again.status_code == 410
    after = api.request("GET", f"/partners/{partner_id}/imports/{body['importId']}", as_=api.admin(tenant)).json()
    assert after["logState"] == "gone" and "log" not in after  # no link to a log that is gone
    assert again.headers["content-type"].startswith("application/problem+json")

    # The passwords are gone from storage.
    from shared import bootstrap

    dump = str(bootstrap.container().store.dump())  # type: ignore[attr-defined]
    assert not any(p in dump for p in passwords)

    # Retrying with the same key returns the same import and creates nothing.
    retry = add(api, partner_id, tenant, CSV_EXPORT, csv_body=True, key="import-1")
    assert retry.status_code == 201
    assert retry.json()["importId"] == body["importId"] and retry.json()["results"] == body["results"]
    assert len(api.host.graph.users(tenant)) == 3

    # Without a key, the same rows again are reported as existing.
    resend = add(api, partner_id, tenant, CSV_EXPORT, csv_body=True)
    assert {r["row"]: r["status"] for r in resend.json()["results"]} == {1: "exists", 2: "exists", 3: "failed", 4: "exists", 5: "exists"}
    assert len(api.host.graph.users(tenant)) == 3


def test_the_same_key_with_other_rows_is_a_conflict(api: Api) -> None:
    partner_id, tenant = api.register_partner()
    assert add(api, partner_id, tenant, {"users": [{"displayName": "One", "email": "one@x.com"}]}, key="k").status_code == 201
    other = add(api, partner_id, tenant, {"users": [{"displayName": "Two", "email": "two@x.com"}]}, key="k")
    assert other.status_code == 409
    assert len(api.host.graph.users(tenant)) == 1


def test_names_are_made_unique_against_the_directory_and_the_file(api: Api) -> None:
    partner_id, tenant = api.register_partner()
    first = add(api, partner_id, tenant, {"users": [{"displayName": "Sam Lee", "mailNickname": "sam"}]})
    second = add(
        api,
        partner_id,
        tenant,
        {"users": [{"displayName": "Sam Li", "mailNickname": "sam"}, {"displayName": "Sam Lo", "mailNickname": "sam"}]},
    )
    names = [first.json()["results"][0]["userPrincipalName"]] + [r["userPrincipalName"] for r in second.json()["results"]]
    assert [n.split("@")[0] for n in names] == ["sam", "sam2", "sam3"]


@pytest.mark.parametrize(
    ("content_type", "content", "status"),
    [
        ("application/json", b"{not json", 400),
        ("application/json", b'{"users": [], "tenantId": "x"}', 400),
        ("application/xml", b"<users/>", 415),
        ("text/csv", b"Name,Office\r\nAda,London\r\n", 400),
        ("text/csv", b"\xff\xfe\x00bad", 400),
    ],
    ids=["malformed-json", "mass-assignment", "xml", "csv-without-display-name", "not-utf8"],
)
def test_bad_bodies_get_a_problem_and_create_nothing(api: Api, content_type: str, content: bytes, status: int) -> None:
    partner_id, tenant = api.register_partner()
    response = api.request(
        "POST", f"/partners/{partner_id}/users", as_=api.admin(tenant), headers={"Content-Type": content_type}, content=content
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert api.host.graph.users(tenant) == []


def test_too_many_rows_is_413(api: Api) -> None:
    partner_id, tenant = api.register_partner()
    rows = "".join(f"U{i},L{i},u{i}@x.com,U {i}\n" for i in range(5001))
    response = add(api, partner_id, tenant, "First name,Last name,Email address,Display name\n" + rows, csv_body=True)
    assert response.status_code == 413
    assert api.host.graph.users(tenant) == []


def test_a_large_import_continues_in_the_background_with_progress(api: Api) -> None:
    partner_id, tenant = api.register_partner()
    users = [{"displayName": f"Bulk {i}", "email": f"bulk{i}@x.com"} for i in range(150)]
    response = add(api, partner_id, tenant, {"users": users}, key="bulk")
    assert response.status_code == 202
    first = response.json()
    assert sum(first["counts"].values()) == 150 and int(response.headers["retry-after"]) >= 1
    assert all(r["status"] != "pending" for r in first["results"])  # counts, not every pending row
    location = response.headers["location"].removeprefix("/api")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        progress = api.request("GET", location, as_=api.admin(tenant)).json()
        if progress["state"] == "completed":
            break
        time.sleep(0.3)
    assert progress["counts"] == {"pending": 0, "created": 150, "exists": 0, "failed": 0}
    assert len(api.host.graph.users(tenant)) == 150


def test_an_employee_who_leaves_is_removed_and_listed_as_departed(api: Api) -> None:
    partner_id, tenant = api.register_partner()
    created = add(api, partner_id, tenant, {"users": [{"displayName": "Leaver", "email": "leaver@x.com"}]}).json()["results"][0]
    listed = api.request("GET", f"/partners/{partner_id}/users", as_=api.admin(tenant)).json()["users"]
    assert [(u["userId"], u["status"], u["msaLinked"]) for u in listed] == [(created["userId"], "active", False)]
    gone = api.request("DELETE", f"/partners/{partner_id}/users/{created['userId']}", as_=api.admin(tenant))
    assert gone.status_code == 204
    assert gone.headers["Directory-Account"] == "deleted"
    assert api.host.graph.users(tenant) == []
    listed = api.request("GET", f"/partners/{partner_id}/users", as_=api.admin(tenant)).json()["users"]
    assert listed[0]["status"] == "departed"
    other_partner, other_tenant = api.register_partner()
    assert api.request("DELETE", f"/partners/{other_partner}/users/{created['userId']}", as_=api.admin(other_tenant)).status_code == 404
    assert api.request("DELETE", f"/partners/{partner_id}/users/{uuid.uuid4()}", as_=api.admin(tenant)).status_code == 404


def test_removing_an_account_the_suite_did_not_create_keeps_it_in_the_directory(api: Api) -> None:
    partner_id, tenant = api.register_partner()
    colleague = httpx.post(
        f"{api.host.base_url}/_dev/graph/v1.0/users",
        headers={"Authorization": f"Bearer devhost:{tenant}"},
        json={
            "accountEnabled": True,
            "displayName": "Colleague",
            "mailNickname": "colleague",
            "userPrincipalName": f"colleague@{api.host.graph.domains(tenant)[0]}",
            "passwordProfile": {"password": "Existing-Pass-123"},
        },
    ).json()["id"]
    # The colleague signs in once to link an MSA: the suite records them, it did not create them.
    assert api.request("POST", "/me/msa-link", as_=api.member(tenant, colleague), json={}).status_code == 200
    answer = api.request("DELETE", f"/partners/{partner_id}/users/{colleague}", as_=api.admin(tenant))
    assert answer.status_code == 204
    assert answer.headers["Directory-Account"] == "kept"
    assert [u["id"] for u in api.host.graph.users(tenant)] == [colleague]
    listed = api.request("GET", f"/partners/{partner_id}/users", as_=api.admin(tenant)).json()["users"]
    assert [(u["userId"], u["status"]) for u in listed] == [(colleague, "departed")]


def test_concurrent_imports_of_colliding_names_each_create_their_own_account(api: Api) -> None:
    """Eight imports at once (CSV and JSON, different keys), eight people named sam@...:
    eight accounts, and each log's password signs in to the account its row names."""
    from concurrent.futures import ThreadPoolExecutor

    partner_id, tenant = api.register_partner()

    def run(i: int) -> tuple[str, list[dict[str, str]]]:
        email = f"sam@company{i}.example"
        if i % 2:
            answer = add(api, partner_id, tenant, f"Display name,Email address\r\nSam {i},{email}\r\n", csv_body=True, key=f"k{i}")
        else:
            answer = add(api, partner_id, tenant, {"users": [{"displayName": f"Sam {i}", "email": email}]}, key=f"k{i}")
        assert answer.status_code == 201, answer.text
        log = api.request("GET", f"/partners/{partner_id}/imports/{answer.json()['importId']}/log", as_=api.admin(tenant))
        assert log.status_code == 200, log.text
        return answer.json()["results"][0]["userId"], log_rows(log.text)

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(run, range(8)))
    accounts = {u["userPrincipalName"]: u["id"] for u in api.host.graph.users(tenant)}
    assert len(accounts) == 8
    logged = [row for _, rows in outcomes for row in rows]
    assert [row["status"] for row in logged] == ["created"] * 8
    assert sorted(row["userPrincipalName"] for row in logged) == sorted(accounts)
    for user_id, [row] in outcomes:
        assert accounts[row["userPrincipalName"]] == user_id
        assert api.host.graph.check_password(tenant, row["userPrincipalName"], row["temporaryPassword"])


def test_5000_rows_of_long_names_are_stored_in_documents_under_cosmos_db_2_mb_limit(api: Api) -> None:
    """One document of this import's rows would be over 2 MB, which Cosmos DB refuses (413)."""
    import json

    from devhost.graph import APP_TENANT_WINDOW_SECONDS, APP_TENANT_WRITES
    from shared import bootstrap
    from shared.ports import MAX_ITEM_BYTES

    partner_id, tenant = api.register_partner()
    name = "x" * 52
    rows = "".join(f"{name}{i:05d}F,{name}{i:05d}L,{name}{i:05d}@contoso.com,{name}{i:08d}\n" for i in range(5000))
    assert len(f"{name}{0:08d}") == 60
    api.host.graph.configure_throttling(10**6, APP_TENANT_WINDOW_SECONDS)  # the quota is another test's subject
    try:
        response = add(api, partner_id, tenant, "First name,Last name,Email address,Display name\n" + rows, csv_body=True, key="big")
        assert response.status_code == 202, response.text
        location = response.headers["location"].removeprefix("/api")
        deadline = time.monotonic() + 120
        while (progress := api.request("GET", location, as_=api.admin(tenant)).json())["state"] != "completed":
            assert time.monotonic() < deadline, progress["counts"]
            time.sleep(0.5)
    finally:
        api.host.graph.configure_throttling(APP_TENANT_WRITES, APP_TENANT_WINDOW_SECONDS)
    assert progress["counts"] == {"pending": 0, "created": 5000, "exists": 0, "failed": 0}

    documents = [d for d in bootstrap.container().store.dump() if d["pk"] == f"partner:{partner_id}"]  # type: ignore[attr-defined]
    sizes = {d["id"]: len(json.dumps(d).encode()) for d in documents}
    assert max(sizes.values()) < MAX_ITEM_BYTES
    chunks = [size for doc_id, size in sizes.items() if doc_id.startswith("importrows:")]
    assert len(chunks) == 25 and sum(chunks) > MAX_ITEM_BYTES  # together they would not fit in one item
    log = api.request("GET", f"{location}/log", as_=api.admin(tenant))  # and the 5,000 passwords are erased
    assert log.status_code == 200 and len(log_rows(log.text)) == 5000


def test_without_admin_consent_the_import_fails_as_a_whole_with_the_reason(api: Api) -> None:
    partner_id, tenant = api.register_partner()
    api.host.graph.grant(tenant, ["User.Read.All", "Domain.Read.All"])  # consent to read only
    try:
        denied = add(api, partner_id, tenant, {"users": [{"displayName": "Ada", "email": "ada@x.com"}]}, key="consent")
    finally:
        api.host.graph.grant(tenant, None)
    assert denied.status_code == 403 and denied.headers["content-type"].startswith("application/problem+json")
    problem = denied.json()
    assert problem["type"].endswith("/directory-consent-missing") and "User.ReadWrite.All" in problem["detail"]
    assert api.host.graph.users(tenant) == []
    retried = add(api, partner_id, tenant, {"users": [{"displayName": "Ada", "email": "ada@x.com"}]}, key="consent")
    assert retried.status_code == 201 and retried.json()["counts"]["created"] == 1


def test_a_document_over_the_store_item_limit_is_a_clear_413(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.ports import DocumentTooLargeError
    from shared.services.users import UserService

    def too_large(*_args: Any, **_kwargs: Any) -> Any:
        raise DocumentTooLargeError("import:x is 3000000 bytes")  # what Cosmos DB's 413 becomes

    partner_id, tenant = api.register_partner()
    monkeypatch.setattr(UserService, "get_import", too_large)
    response = api.request("GET", f"/partners/{partner_id}/imports/x", as_=api.admin(tenant))
    assert response.status_code == 413 and response.headers["content-type"].startswith("application/problem+json")
    assert "2 MB" in response.json()["detail"] and "3000000" not in response.text
