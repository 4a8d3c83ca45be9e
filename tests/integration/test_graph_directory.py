"""GraphDirectory against the Graph stand-in over real HTTP (batching, retries, reconciliation)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devhost.graph import GraphStandIn
from devhost.standin import make_server, serve_in_thread
from shared.adapters.graph_directory import GraphDirectory, token_provider_from_settings
from shared.ports import DirectoryError, NewDirectoryUser

TENANT = "1a2b3c4d-0000-4000-8000-000000000001"
DOMAIN = "1a2b3c4d.onmicrosoft.com"
GOOD_PASSWORD = "Str0ng!Passw0rd"


@pytest.fixture()
def standin() -> Iterator[tuple[GraphStandIn, str]]:
    graph = GraphStandIn()
    server = make_server([graph], port=0)
    thread = serve_in_thread(server)
    try:
        yield graph, f"http://127.0.0.1:{server.server_address[1]}/_dev/graph/v1.0"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _directory(base_url: str, **kwargs: object) -> GraphDirectory:
    return GraphDirectory(
        base_url,
        lambda t: f"devhost:{t}",
        sleep=lambda s: None,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture()
def directory(standin: tuple[GraphStandIn, str]) -> Iterator[GraphDirectory]:
    d = _directory(standin[1])
    yield d
    d.close()


def _user(i: int, *, password: str = GOOD_PASSWORD, domain: str = DOMAIN) -> NewDirectoryUser:
    return NewDirectoryUser(
        ref=f"row-{i}",
        user_principal_name=f"student{i:03d}@{domain}",
        display_name=f"Student {i}",
        mail_nickname=f"student{i:03d}",
        password=password,
        given_name="Student",
        surname=str(i),
    )


def test_45_users_take_three_batches(standin: tuple[GraphStandIn, str], directory: GraphDirectory) -> None:
    graph, _ = standin
    users = [_user(i) for i in range(45)]
    graph.reset_counters()

    results = directory.create_users(TENANT, users)

    assert graph.request_count == 3
    assert graph.batch_count == 3
    assert [r.ref for r in results] == [u.ref for u in users]
    assert all(r.status == "created" for r in results)
    assert len(graph.users(TENANT)) == 45
    graph.reset_counters()
    found = directory.find_users(TENANT, [u.user_principal_name for u in users])
    assert graph.batch_count == 3
    for user, result in zip(users, results, strict=True):
        assert result.user is not None
        assert result.user.user_principal_name == user.user_principal_name
        assert found[user.user_principal_name.lower()] == result.user
    for result in results[::10]:
        assert result.user is not None
        assert directory.get_user(TENANT, result.user.user_id) == result.user
    # nothing leaked into another tenant
    assert graph.users("default") == []


def test_weak_password_fails_only_that_user(standin: tuple[GraphStandIn, str], directory: GraphDirectory) -> None:
    graph, _ = standin
    users = [_user(0), _user(1, password="password"), _user(2), _user(3, password="Ab1!")]

    results = directory.create_users(TENANT, users)

    assert [r.status for r in results] == ["created", "failed", "created", "failed"]
    assert results[1].error is not None and "password complexity" in results[1].error
    assert results[3].error is not None and "password complexity" in results[3].error
    assert results[1].user is None
    assert {u["userPrincipalName"] for u in graph.users(TENANT)} == {
        users[0].user_principal_name,
        users[2].user_principal_name,
    }


def test_foreign_domain_fails_until_added(standin: tuple[GraphStandIn, str], directory: GraphDirectory) -> None:
    graph, _ = standin
    [result] = directory.create_users(TENANT, [_user(1, domain="school.example")])
    assert result.status == "failed" and result.error and "domain" in result.error
    graph.add_domain(TENANT, "school.example")
    [result] = directory.create_users(TENANT, [_user(1, domain="school.example")])
    assert result.status == "created"


def test_throttling_and_outages_end_with_each_user_created_once(
    standin: tuple[GraphStandIn, str],
) -> None:
    graph, base_url = standin
    response = httpx.post(
        base_url.replace("/v1.0", "/faults"),
        json={"throttleRate": 0.3, "unavailableRate": 0.2, "retryAfterSeconds": 2, "seed": 7},
    )
    assert response.status_code == 200
    sleeps: list[float] = []
    directory = GraphDirectory(base_url, lambda t: f"devhost:{t}", sleep=sleeps.append, max_retries=20)
    users = [_user(i) for i in range(100)]
    try:
        results = directory.create_users(TENANT, users)
    finally:
        directory.close()

    assert [r.status for r in results] == ["created"] * 100, [r.error for r in results if r.status != "created"]
    stored = graph.users(TENANT)
    assert len(stored) == 100
    assert len({u["userPrincipalName"].lower() for u in stored}) == 100
    assert {r.user.user_id for r in results if r.user} == {u["id"] for u in stored}
    assert graph.batch_count > 5  # retries happened
    assert 2.0 in sleeps  # Retry-After was honoured
    assert all(0.0 <= s <= 30.0 for s in sleeps)


def test_retries_are_bounded(standin: tuple[GraphStandIn, str]) -> None:
    graph, base_url = standin
    graph.configure_faults(unavailable_rate=1.0, seed=1)
    directory = _directory(base_url, max_retries=2)
    try:
        [result] = directory.create_users(TENANT, [_user(1)])
    finally:
        directory.close()
    assert result.status == "failed"
    assert result.error is not None and "gave up after 2 retries" in result.error
    assert graph.request_count == 3


def test_applied_but_answered_503_is_reconciled_as_created(standin: tuple[GraphStandIn, str], directory: GraphDirectory) -> None:
    graph, base_url = standin
    httpx.post(base_url.replace("/v1.0", "/faults"), json={"applyThenFailRate": 1.0})
    calls = 0
    original = graph._draw_apply_then_fail

    def first_only() -> bool:  # fail after applying only the first create
        nonlocal calls
        calls += 1
        return calls == 1 and original()

    graph._draw_apply_then_fail = first_only  # type: ignore[method-assign]

    [result] = directory.create_users(TENANT, [_user(7)])

    assert result.status == "created"
    stored = graph.users(TENANT)
    assert len(stored) == 1
    assert result.user is not None and result.user.user_id == stored[0]["id"]
    assert calls == 2  # the retry hit the conflict


def test_apply_then_fail_with_many_users(standin: tuple[GraphStandIn, str]) -> None:
    graph, base_url = standin
    graph.configure_faults(apply_then_fail_rate=0.3, throttle_rate=0.1, seed=3)
    directory = _directory(base_url, max_retries=20)
    try:
        results = directory.create_users(TENANT, [_user(i) for i in range(60)])
    finally:
        directory.close()
    assert all(r.status == "created" for r in results)
    assert len(graph.users(TENANT)) == 60


def test_upn_taken_before_is_exists(standin: tuple[GraphStandIn, str], directory: GraphDirectory) -> None:
    graph, _ = standin
    [first] = directory.create_users(TENANT, [_user(5)])
    assert first.status == "created"
    taken = _user(5)
    taken = NewDirectoryUser(
        ref="again",
        user_principal_name=taken.user_principal_name.upper().replace(DOMAIN.upper(), DOMAIN),
        display_name="Other",
        mail_nickname="other",
        password=GOOD_PASSWORD,
    )

    results = directory.create_users(TENANT, [taken, _user(6)])

    assert [r.status for r in results] == ["exists", "created"]
    assert results[0].user == first.user
    assert len(graph.users(TENANT)) == 2


def test_find_delete_and_default_domain(standin: tuple[GraphStandIn, str], directory: GraphDirectory) -> None:
    graph, _ = standin
    results = directory.create_users(TENANT, [_user(i) for i in range(25)])
    upns = [f"STUDENT{i:03d}@{DOMAIN}" for i in range(30)]  # 5 absent, mixed case

    found = directory.find_users(TENANT, upns)

    assert set(found) == {f"student{i:03d}@{DOMAIN}" for i in range(25)}
    assert found[f"student003@{DOMAIN}"] == results[3].user
    assert directory.find_users(TENANT, []) == {}

    assert directory.get_user(TENANT, f"student004@{DOMAIN}") == results[4].user
    assert directory.get_user(TENANT, "nobody@" + DOMAIN) is None

    user = results[0].user
    assert user is not None
    assert directory.delete_user(TENANT, user.user_id) is True
    assert directory.delete_user(TENANT, user.user_id) is False
    assert directory.get_user(TENANT, user.user_id) is None
    assert len(graph.users(TENANT)) == 24

    def default(tenant: str) -> str:
        return next(d.name for d in directory.list_domains(tenant) if d.is_default)

    assert default(TENANT) == DOMAIN
    graph.add_domain(TENANT, "school.example", federated=True)
    assert default(TENANT) == DOMAIN
    assert default("default") == "default.onmicrosoft.com"
    assert [(d.name, d.is_verified, d.authentication_type) for d in directory.list_domains(TENANT)] == [
        (DOMAIN, True, "Managed"),
        ("school.example", True, "Federated"),
    ]


class _StripAuth(httpx.BaseTransport):
    """Sends through a real transport without the Authorization header."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        del request.headers["Authorization"]
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_unauthorized_raises_directory_error(standin: tuple[GraphStandIn, str]) -> None:
    graph, base_url = standin
    directory = GraphDirectory(base_url, lambda t: "secret-token", sleep=lambda s: None, transport=_StripAuth())
    try:
        with pytest.raises(DirectoryError, match="refused") as info:
            directory.create_users(TENANT, [_user(i) for i in range(45)])
        assert "InvalidAuthenticationToken" in str(info.value)
        assert "secret-token" not in str(info.value)
        with pytest.raises(DirectoryError, match="refused"):
            directory.list_domains(TENANT)
        with pytest.raises(DirectoryError, match="refused"):
            directory.find_users(TENANT, [f"a@{DOMAIN}"])
    finally:
        directory.close()
    assert graph.users(TENANT) == []


def test_empty_token_raises_directory_error(standin: tuple[GraphStandIn, str]) -> None:
    _, base_url = standin
    directory = GraphDirectory(base_url, lambda t: "", sleep=lambda s: None)
    try:
        with pytest.raises(DirectoryError, match="no token"):
            directory.create_users(TENANT, [_user(1)])
    finally:
        directory.close()


def test_forbidden_message_has_no_token() -> None:
    secret = "eyJ-secret-token"

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"Bearer {secret}"
        return httpx.Response(403, json={"error": {"code": "Authorization_RequestDenied", "message": "Denied."}})

    directory = GraphDirectory(
        "https://graph.example/v1.0",
        lambda t: secret,
        sleep=lambda s: None,
        transport=httpx.MockTransport(handler),
    )
    with pytest.raises(DirectoryError) as info:
        directory.create_users(TENANT, [_user(1)])
    assert secret not in str(info.value)
    assert "Authorization_RequestDenied" in str(info.value)
    directory.close()


def test_timeouts_are_retried_then_reconciled() -> None:
    """A transport error after the create was applied: the retry's conflict means created."""
    store: dict[str, dict[str, str]] = {}
    calls = {"batch": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        import json

        if request.url.path.endswith("/$batch"):
            calls["batch"] += 1
            payload = json.loads(request.content)
            responses = []
            for sub in payload["requests"]:
                if sub["method"] == "POST":
                    upn = sub["body"]["userPrincipalName"]
                    if upn in store:
                        responses.append(
                            {
                                "id": sub["id"],
                                "status": 400,
                                "headers": {},
                                "body": {
                                    "error": {
                                        "code": "Request_BadRequest",
                                        "message": "Another object with the same value for property userPrincipalName already exists.",
                                        "details": [{"code": "ObjectConflict", "target": "userPrincipalName"}],
                                    }
                                },
                            }
                        )
                        continue
                    store[upn] = {"id": "u-1", "userPrincipalName": upn, "displayName": "X"}
                    if calls["batch"] == 1:
                        raise httpx.ReadTimeout("timed out", request=request)
                    responses.append({"id": sub["id"], "status": 201, "body": store[upn]})
                else:
                    upn = sub["url"].split("?")[0].rsplit("/", 1)[1]
                    responses.append({"id": sub["id"], "status": 200, "body": store[upn]})
            return httpx.Response(200, json={"responses": responses})
        return httpx.Response(404)

    directory = GraphDirectory(
        "https://graph.example/v1.0",
        lambda t: "t",
        sleep=lambda s: None,
        transport=httpx.MockTransport(handler),
    )
    [result] = directory.create_users(TENANT, [_user(1)])
    directory.close()
    assert result.status == "created"
    assert result.user is not None and result.user.user_id == "u-1"
    assert len(store) == 1


def test_batch_over_20_is_rejected_by_standin(standin: tuple[GraphStandIn, str]) -> None:
    _, base_url = standin
    requests = [{"id": str(i), "method": "GET", "url": "/domains"} for i in range(21)]
    response = httpx.post(
        f"{base_url}/$batch",
        json={"requests": requests},
        headers={"Authorization": f"Bearer devhost:{TENANT}"},
    )
    assert response.status_code == 400
    assert httpx.get(f"{base_url}/domains").status_code == 401


def test_static_token_provider() -> None:
    class _S:
        graph_credential = "static"
        graph_static_token: str | None = None

    assert token_provider_from_settings(_S())("abc") == "devhost:abc"  # type: ignore[arg-type]
    _S.graph_static_token = "fixed"
    assert token_provider_from_settings(_S())("abc") == "fixed"  # type: ignore[arg-type]


def test_credential_providers_are_cached_per_tenant(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    import azure.identity

    built: list[tuple[str, tuple[object, ...], dict[str, object]]] = []

    class _Token:
        def __init__(self, token: str) -> None:
            self.token = token

    def fake(kind: str) -> type:
        class _Credential:
            def __init__(self, *args: object, **kwargs: object) -> None:
                built.append((kind, args, kwargs))
                self.args = args

            def get_token(self, scope: str) -> _Token:
                if kind == "managed":
                    assert scope == "api://AzureADTokenExchange/.default"
                    return _Token("mi-assertion")
                assert scope == "https://graph.microsoft.com/.default"
                if kind == "assertion":
                    func = self.args[2]
                    assert callable(func) and func() == "mi-assertion"
                return _Token(f"{kind}:{self.args[0]}")

        return _Credential

    monkeypatch.setattr(azure.identity, "ClientSecretCredential", fake("secret"))
    monkeypatch.setattr(azure.identity, "CertificateCredential", fake("cert"))
    monkeypatch.setattr(azure.identity, "ClientAssertionCredential", fake("assertion"))
    monkeypatch.setattr(azure.identity, "ManagedIdentityCredential", fake("managed"))

    def settings(kind: str) -> object:
        return types.SimpleNamespace(
            graph_credential=kind,
            graph_client_id="app-id",
            graph_client_secret="s3cret",
            graph_certificate_path="/tmp/cert.pem",
            graph_managed_identity_client_id="mi-id",
            graph_static_token=None,
        )

    provider = token_provider_from_settings(settings("client_secret"))  # type: ignore[arg-type]
    assert provider("t1") == "secret:t1"
    assert provider("t1") == "secret:t1"
    assert provider("t2") == "secret:t2"
    assert [b[1] for b in built] == [("t1", "app-id", "s3cret"), ("t2", "app-id", "s3cret")]

    built.clear()
    provider = token_provider_from_settings(settings("certificate"))  # type: ignore[arg-type]
    assert provider("t1") == "cert:t1"
    assert built == [("cert", ("t1", "app-id"), {"certificate_path": "/tmp/cert.pem"})]

    built.clear()
    provider = token_provider_from_settings(settings("managed_identity"))  # type: ignore[arg-type]
    assert provider("t1") == "assertion:t1"
    assert provider("t2") == "assertion:t2"
    assert [b[0] for b in built] == ["assertion", "managed", "assertion"]
    assert built[1][2] == {"client_id": "mi-id"}


def _body(i: int) -> dict[str, object]:
    return {
        "accountEnabled": True,
        "displayName": f"Student {i}",
        "mailNickname": f"student{i:03d}",
        "userPrincipalName": f"student{i:03d}@{DOMAIN}",
        "passwordProfile": {"password": GOOD_PASSWORD},
    }


def test_the_directory_outlives_a_restarted_host(tmp_path: Path) -> None:
    """Graph keeps what it created when the local host is killed: a journalled stand-in replays
    it, so a retry after a restart meets the account (a conflict), never an empty directory."""
    journal = tmp_path / "graph-directory.jsonl"
    first = GraphStandIn(journal=journal)
    server = make_server([first], port=0)
    thread = serve_in_thread(server)
    try:
        d = _directory(f"http://127.0.0.1:{server.server_address[1]}/_dev/graph/v1.0")
        created = d.create_users(TENANT, [_user(1), _user(2)])
        assert [r.status for r in created] == ["created", "created"]
        assert d.delete_user(TENANT, created[1].user.user_id)  # type: ignore[union-attr]
        d.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    with journal.open("a") as cut_short:
        cut_short.write('{"op": "create", "tena')  # a line a kill cut short is skipped
    restarted = GraphStandIn(journal=journal)
    assert [u["userPrincipalName"] for u in restarted.users(TENANT)] == [f"student001@{DOMAIN}"]
    assert restarted.check_password(TENANT, f"student001@{DOMAIN}", GOOD_PASSWORD)
    restarted.add_domain(TENANT, DOMAIN)
    assert restarted._create_user(TENANT, {**_body(3)}).status == 201
    assert len(GraphStandIn(journal=journal).users(TENANT)) == 2  # written after the cut line
