"""Every registered route against every kind of caller (API.md's table), bad input, and the
property-level checks. A route added without a rule, or with the wrong one, fails here."""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

import function_app  # noqa: F401  (registers every route in OPERATIONS at collection)
from functions.http import OPERATIONS, Operation
from shared.auth import ROLE_ADMIN, ROLE_FEED, ROLE_OPERATOR, Scope
from tests.e2e.conftest import Api


def test_every_http_route_has_an_access_rule(api: Api) -> None:
    # The routes as the host indexed them from the FunctionApp's own registrations.
    registered = {(method, route.template) for route in api.host.function_host.routes for method in route.methods}
    ruled = {(op.method, op.route) for op in OPERATIONS}
    assert registered - ruled == set()
    assert len(ruled) >= 25


@dataclass
class World:
    partner_id: str
    tenant: str
    other_tenant: str


@pytest.fixture(scope="module")
def world(api: Api) -> World:
    partner_id, tenant = api.register_partner()
    _, other_tenant = api.register_partner()
    api.request("POST", f"/partners/{partner_id}/evaluations", as_=api.operator())  # so its reads have something to show
    return World(partner_id, tenant, other_tenant)


def path_of(op: Operation, world: World) -> str:
    path = op.route.replace("{partnerId}", world.partner_id)
    for name in ("userId", "importId", "overrideId", "alertId"):
        path = path.replace("{" + name + "}", "o1" if name == "overrideId" else str(uuid.uuid4()))
    return "/" + path


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def bad_tokens(api: Api, tenant: str) -> dict[str, str]:
    good = api.host.token(tenant, user_id=str(uuid.uuid4()), roles=(ROLE_ADMIN, ROLE_OPERATOR, ROLE_FEED))
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    tampered_sig = ("A" if signature[0] != "A" else "B") + signature[1:]
    return {
        "expired": api.host.token(tenant, roles=(ROLE_ADMIN,), lifetime=-300),
        "wrong-audience": api.host.token(tenant, roles=(ROLE_ADMIN,), audience="api://someone-else"),
        "wrong-issuer": api.host.token(tenant, roles=(ROLE_ADMIN,), extra={"iss": "https://login.example.com/evil/v2.0"}),
        "tampered-signature": f"{header}.{payload}.{tampered_sig}",
        "tampered-claims": f"{header}.{b64({**claims, 'tid': str(uuid.uuid4())})}.{signature}",
        "alg-none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "garbage": "not-a-jwt",
    }


def call(api: Api, op: Operation, world: World, headers: dict[str, str]) -> Any:
    kwargs: dict[str, Any] = {}
    if op.method in ("POST", "PUT"):
        kwargs["json"] = {}
    return api.request(op.method, path_of(op, world), as_=headers, **kwargs)


PROTECTED = [op for op in OPERATIONS if op.rule.scope is not Scope.PUBLIC]


@pytest.mark.parametrize("op", PROTECTED, ids=lambda op: f"{op.method} {op.route}")
def test_bad_tokens_get_401_everywhere(api: Api, world: World, op: Operation) -> None:
    for name, token in bad_tokens(api, world.tenant).items():
        response = call(api, op, world, {"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, f"{name}: {response.status_code} {response.text}"
        assert response.headers["content-type"].startswith("application/problem+json")
    assert call(api, op, world, {}).status_code == 401


def expected(op: Operation, who: str) -> set[int] | str:
    """API.md's table: the status a caller gets, or "allowed" (neither 401, 403 nor 404 for the partner)."""
    rule = op.rule
    if rule.scope is Scope.AUTHENTICATED:
        return "allowed"
    if rule.scope is Scope.PROGRAM:
        return "allowed" if (who == "operator" and ROLE_OPERATOR in rule.roles) or (who == "feed" and ROLE_FEED in rule.roles) else {403}
    if rule.scope is Scope.OWN_PARTNER:
        return "allowed" if who in ("admin", "member", "other-admin") else {403}  # their own organisation
    program_role = {"operator": ROLE_OPERATOR, "feed": ROLE_FEED}.get(who)
    if program_role:
        return "allowed" if program_role in rule.roles else {403}
    if who == "other-admin":
        return {404}
    if who == "member":
        return "allowed" if rule.members else {403}
    return "allowed" if rule.admin else {403}


CALLERS = ["admin", "member", "other-admin", "operator", "feed"]


@pytest.mark.parametrize("op", PROTECTED, ids=lambda op: f"{op.method} {op.route}")
def test_each_caller_gets_exactly_what_api_md_says(api: Api, world: World, op: Operation) -> None:
    headers = {
        "admin": api.admin(world.tenant),
        "member": api.member(world.tenant),
        "other-admin": api.admin(world.other_tenant),
        "operator": api.operator(),
        "feed": api.feed(),
    }
    for who in CALLERS:
        response = call(api, op, world, headers[who])
        want = expected(op, who)
        assert response.status_code < 500, f"{who}: {response.status_code} {response.text}"
        if want == "allowed":
            assert response.status_code not in (401, 403), f"{who}: {response.status_code} {response.text}"
            if op.method == "GET" and re.findall(r"{(\w+)}", op.route) in ([], ["partnerId"]) and op.route != "me/msa-link":
                assert response.status_code == 200, f"{who}: {response.status_code} {response.text}"  # a read that needs no other id
            if response.status_code == 404:
                assert world.partner_id not in response.json().get("detail", ""), f"{who}: the partner itself was hidden"
        else:
            assert response.status_code in want, f"{who}: {response.status_code} {response.text}"
        if response.status_code >= 400:
            assert response.headers["content-type"].startswith("application/problem+json")
        if who == "other-admin" and response.status_code == 404:
            assert world.tenant not in response.text


def test_unknown_routes_and_methods_get_the_hosts_own_404(api: Api) -> None:
    # No function answers them (a catch-all would shadow every function named after it): the
    # Functions host answers 404 with an empty body, for an unknown method too (it has no 405).
    for method, path in [("GET", "/no/such/thing"), ("PATCH", "/health"), ("DELETE", "/competencies"), ("GET", "/partners")]:
        response = api.request(method, path, as_=api.operator())
        assert (response.status_code, response.content) == (404, b""), (method, path)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/partners/{p}", {"displayName": "X", "tenantId": "t", "roles": ["Program.Operator"]}),
        ("POST", "/partners/{p}/membership", {"level": "gold", "purchasedOn": "2020-01-01"}),
        ("PUT", "/partners/{p}/overrides/o9", {"competencyId": "cloud-platform", "level": "silver", "reason": "x y z", "createdBy": "me"}),
        ("POST", "/achievements", {"achievements": [], "partnerId": "p"}),
        ("POST", "/me/msa-link", {"loginHint": "a@b.c", "userId": "someone-else"}),
    ],
)
def test_request_models_reject_unknown_fields(api: Api, world: World, method: str, path: str, body: dict[str, Any]) -> None:
    everyone = api.headers(world.tenant, roles=(ROLE_ADMIN, ROLE_OPERATOR, ROLE_FEED))
    response = api.request(method, path.replace("{p}", world.partner_id), as_=everyone, json=body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("content_type", "content", "status"),
    [
        ("application/json", b"{", 400),
        ("text/plain", b"hello", 415),
        ("application/json", b"[]", 400),
        ("application/json", b"x" * 3_000_000, 413),
        ("application/json", b"[" * 1000 + b"]" * 1000, 400),  # 2 KB, a thousand deep
        ("application/json", b'{"a":' * 401 + b"1" + b"}" * 401, 400),
        ("application/json", b'{"asOf":"2026-10-31","asOf":"2026-10-30","metrics":[]}', 400),  # the same key twice
        ("application/json", '{"asOf":"2026-10-31","metrics":[]}'.encode("utf-16"), 400),
        ("application/json", '{"asOf":"2026-10-31","metrics":[]}'.encode("utf-16-le"), 400),
        ("application/json", '{"asOf":"2026-10-31","metrics":[]}'.encode("utf-32"), 400),
        ("application/json", '{"asOf":"2026-10-31","metrics":[]}'.encode("utf-32-be"), 400),
    ],
)
def test_bad_bodies_never_500(api: Api, world: World, content_type: str, content: bytes, status: int) -> None:
    response = api.request(
        "PUT", f"/partners/{world.partner_id}/performance", as_=api.feed(), headers={"Content-Type": content_type}, content=content
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == response.status_code


def test_json_nested_400_deep_is_read_and_deeper_is_refused() -> None:
    from functions.http import MAX_JSON_DEPTH, parse_json
    from shared.errors import BadRequest

    assert parse_json(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH) is not None
    assert parse_json(b'{"a":' * (MAX_JSON_DEPTH - 1) + b"[]" + b"}" * (MAX_JSON_DEPTH - 1)) is not None
    for deeper in (b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), b"[" * 100_000):
        with pytest.raises(BadRequest):
            parse_json(deeper)
    assert parse_json('{"ä":"ü"}'.encode("utf-8-sig")) == {"ä": "ü"}  # UTF-8, with or without BOM


def test_an_unexpected_failure_is_a_500_problem_saying_500(api: Api, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.services import partners

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(partners.PartnerService, "document", broken)
    response = api.request("GET", f"/partners/{world.partner_id}", as_=api.admin(world.tenant))
    assert response.status_code == 500 and response.json()["status"] == 500
    assert "boom" not in response.text


def test_responses_carry_no_internal_fields(api: Api, world: World) -> None:
    body = api.request("GET", f"/partners/{world.partner_id}", as_=api.admin(world.tenant)).json()
    assert not {"pk", "type", "schemaVersion", "_etag", "id"} & set(body)
