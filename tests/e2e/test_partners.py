"""Registering and reading partners through the local host, with API.md's access rules."""

from __future__ import annotations

import uuid

from tests.e2e.conftest import Api


def test_health_is_anonymous(api: Api) -> None:
    response = api.request("GET", "/health")
    assert response.status_code == 200
    body = response.json()
    assert set(body["poisonMessages"]) == {"evaluate-partner-poison", "import-users-poison", "dispatch-alerts-poison"}
    assert body["status"] == ("degraded" if any(body["poisonMessages"].values()) else "ok")


def test_operator_registers_and_the_partner_admin_reads_it(api: Api) -> None:
    partner_id, tenant_id = api.register_partner(domain="contoso.example.com")

    own_admin = api.request("GET", f"/partners/{partner_id}", as_=api.admin(tenant_id))
    assert own_admin.status_code == 200
    body = own_admin.json()
    assert body["partnerId"] == partner_id
    assert body["tenantId"] == tenant_id
    assert body["primaryDomain"] == "contoso.example.com"

    member = api.request("GET", f"/partners/{partner_id}", as_=api.member(tenant_id))
    assert member.status_code == 200


def test_another_tenants_admin_gets_404_and_no_token_gets_401(api: Api) -> None:
    partner_id, _ = api.register_partner()
    other = api.request("GET", f"/partners/{partner_id}", as_=api.admin(str(uuid.uuid4())))
    assert other.status_code == 404
    assert other.headers["content-type"].startswith("application/problem+json")
    assert partner_id in other.json()["detail"]

    anonymous = api.request("GET", f"/partners/{partner_id}")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    assert anonymous.headers["www-authenticate"].startswith("Bearer")


def test_unknown_partner_reads_as_404_for_admins_and_operators(api: Api) -> None:
    assert api.request("GET", "/partners/p-missing", as_=api.operator()).status_code == 404
    assert api.request("GET", "/partners/p-missing", as_=api.admin(str(uuid.uuid4()))).status_code == 404


def test_registration_needs_the_operator_role(api: Api) -> None:
    partner_id, tenant_id = api.register_partner()
    body = {"displayName": "Renamed", "tenantId": tenant_id}
    response = api.request("PUT", f"/partners/{partner_id}", as_=api.admin(tenant_id), json=body)
    assert response.status_code == 403
    assert api.request("GET", f"/partners/{partner_id}", as_=api.operator()).json()["displayName"] != "Renamed"


def test_update_is_200_and_keeps_created_at(api: Api) -> None:
    partner_id, tenant_id = api.register_partner()
    first = api.request("GET", f"/partners/{partner_id}", as_=api.operator()).json()
    response = api.request("PUT", f"/partners/{partner_id}", as_=api.operator(), json={"displayName": "New name", "tenantId": tenant_id})
    assert response.status_code == 200
    assert response.json()["displayName"] == "New name"
    assert response.json()["createdAt"] == first["createdAt"]


def test_a_tenant_belongs_to_one_partner(api: Api) -> None:
    _, tenant_id = api.register_partner()
    response = api.request(
        "PUT", "/partners/p-" + uuid.uuid4().hex[:8], as_=api.operator(), json={"displayName": "Copycat", "tenantId": tenant_id}
    )
    assert response.status_code == 409
    assert response.json()["title"] == "Conflict"


def test_bad_bodies_are_problems_and_change_nothing(api: Api) -> None:
    partner_id = "p-" + uuid.uuid4().hex[:8]
    cases = [
        (b"{not json", "application/json", 400),
        (b'{"displayName": "x", "tenantId": "t", "roles": ["Program.Operator"]}', "application/json", 400),
        (b'{"displayName": "", "tenantId": "t"}', "application/json", 400),
        (b"displayName=x", "application/x-www-form-urlencoded", 415),
        (b"x" * 1_100_000, "application/json", 413),
    ]
    for body, content_type, status in cases:
        response = api.request("PUT", f"/partners/{partner_id}", as_=api.operator(), content=body, headers={"Content-Type": content_type})
        assert response.status_code == status, (body[:40], response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert api.request("GET", f"/partners/{partner_id}", as_=api.operator()).status_code == 404


def test_openapi_lists_every_route(api: Api, host) -> None:
    document = api.request("GET", "/openapi.json").json()
    registered = {("/api/" + route.template, method.lower()) for route in host.function_host.routes for method in route.methods}
    published = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert registered == published
