"""Linking MSAs through the local host: MSAL for real against the MSA stand-in (TLS), one
organisation at a time, and what evaluations see."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.e2e.conftest import Api, complete_link, follow_sign_in, link_msa, sign_in_msa, trust


def employee(api: Api) -> tuple[str, str, str]:
    """A partner with one employee added through the API: (partnerId, tenantId, userId)."""
    partner_id, tenant = api.register_partner()
    response = api.request(
        "POST",
        f"/partners/{partner_id}/users",
        as_=api.admin(tenant),
        json={"users": [{"displayName": "Employee", "email": f"e{uuid.uuid4().hex[:6]}@x.com"}]},
    )
    return partner_id, tenant, response.json()["results"][0]["userId"]


def feed(api: Api, msa_id: str, *codes: str) -> None:
    achievements = [{"msaId": msa_id, "kind": "exam", "code": c, "earnedOn": "2026-01-10"} for c in codes]
    response = api.request("POST", "/achievements", as_=api.feed(), json={"achievements": achievements})
    assert response.status_code == 200 and response.json()["accepted"] == len(codes), response.text


def cloud_platform(api: Api, partner_id: str) -> dict[str, Any]:
    evaluation = api.request("POST", f"/partners/{partner_id}/evaluations", as_=api.operator())
    assert evaluation.status_code == 200, evaluation.text
    return next(c for c in evaluation.json()["competencies"] if c["competencyId"] == "cloud-platform")


def exam_requirement(competency: dict[str, Any]) -> dict[str, Any]:
    return competency["levels"][0]["paths"][0]["requirements"][1]


def test_an_employee_links_an_msa_and_it_counts_for_the_partner(api: Api) -> None:
    partner_id, tenant, user = employee(api)
    email = f"ada-{uuid.uuid4().hex[:6]}@outlook.example"
    linked = link_msa(api, tenant, user, email)
    assert linked.status_code == 200, linked.text
    body = linked.json()
    assert body["partnerId"] == partner_id and body["userId"] == user and "severedPartnerId" not in body
    assert api.request("GET", "/me/msa-link", as_=api.member(tenant, user)).json()["msaId"] == body["msaId"]
    assert link_msa(api, tenant, user, email).json()["msaId"] == body["msaId"]  # same email, same MSA, no-op

    feed(api, body["msaId"], "70-533")
    assert exam_requirement(cloud_platform(api, partner_id))["contributors"] == [user]


def test_relinking_to_a_second_partner_severs_the_first(api: Api) -> None:
    first_partner, first_tenant, first_user = employee(api)
    second_partner, second_tenant, second_user = employee(api)
    email = f"mover-{uuid.uuid4().hex[:6]}@outlook.example"
    msa_id = link_msa(api, first_tenant, first_user, email).json()["msaId"]
    feed(api, msa_id, "70-533")
    assert exam_requirement(cloud_platform(api, first_partner))["current"] == 1

    moved = link_msa(api, second_tenant, second_user, email)
    assert moved.status_code == 200
    assert moved.json()["severedPartnerId"] == first_partner
    assert exam_requirement(cloud_platform(api, first_partner))["current"] == 0
    assert exam_requirement(cloud_platform(api, second_partner))["contributors"] == [second_user]
    assert api.request("GET", "/me/msa-link", as_=api.member(first_tenant, first_user)).status_code == 404


def test_unlink_stops_counting(api: Api) -> None:
    partner_id, tenant, user = employee(api)
    msa_id = link_msa(api, tenant, user, f"u-{uuid.uuid4().hex[:6]}@outlook.example").json()["msaId"]
    feed(api, msa_id, "70-532")
    assert api.request("DELETE", "/me/msa-link", as_=api.member(tenant, user)).status_code == 204
    assert exam_requirement(cloud_platform(api, partner_id))["current"] == 0


def test_the_browser_gets_a_safe_html_page_that_links_nothing_by_itself(api: Api) -> None:
    _, tenant, user = employee(api)
    start = api.request(
        "POST", "/me/msa-link", as_=api.member(tenant, user), json={"loginHint": f"h-{uuid.uuid4().hex[:6]}@outlook.example"}
    )
    with httpx.Client(verify=trust(api)) as browser:
        callback = browser.get(start.json()["authorizationUrl"]).headers["location"]
    page = httpx.get(callback, headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp and "connect-src 'self'" in csp
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["cache-control"] == "no-store"
    assert api.request("GET", "/me/msa-link", as_=api.member(tenant, user)).status_code == 404  # the callback never links


def test_replayed_forged_and_failed_sign_ins_are_400_and_change_nothing(api: Api) -> None:
    _, tenant, user = employee(api)
    callback = sign_in_msa(api, tenant, user, f"r-{uuid.uuid4().hex[:6]}@outlook.example")
    assert complete_link(api, tenant, user, callback).status_code == 200
    replay = complete_link(api, tenant, user, callback)
    assert replay.status_code == 400 and replay.headers["content-type"].startswith("application/problem+json")
    assert replay.json()["status"] == 400
    assert complete_link(api, tenant, user, {"code": "abc", "state": "forged"}).status_code == 400
    assert api.http.get("/msa/callback?code=abc&state=forged").status_code == 400
    assert api.http.get("/msa/callback").status_code == 400

    _, tenant2, user2 = employee(api)
    start = api.request("POST", "/me/msa-link", as_=api.member(tenant2, user2), json={"loginHint": "error@example.com"})
    with httpx.Client(verify=trust(api)) as browser:
        denied = browser.get(start.json()["authorizationUrl"]).headers["location"].removeprefix(api.host.base_url + "/api")
    refused = api.http.get(denied)
    assert refused.status_code == 400 and "cancelled or refused" in refused.json()["detail"]
    assert api.request("GET", "/me/msa-link", as_=api.member(tenant2, user2)).status_code == 404


def test_a_sign_in_link_handed_to_someone_else_cannot_move_their_msa(api: Api) -> None:
    """The hijack: an attacker starts a link and sends the authorization URL to a victim."""
    victim_partner, victim_tenant, victim = employee(api)
    _, attacker_tenant, attacker = employee(api)
    victim_email = f"victim-{uuid.uuid4().hex[:6]}@outlook.example"
    victim_msa = link_msa(api, victim_tenant, victim, victim_email).json()["msaId"]

    start = api.request("POST", "/me/msa-link", as_=api.member(attacker_tenant, attacker), json={"loginHint": victim_email})
    assert "prompt=select_account" in start.json()["authorizationUrl"]  # the victim is always asked
    # The victim's browser signs in; the victim's portal session completes with the victim's token.
    callback = follow_sign_in(api, start.json()["authorizationUrl"])
    refused = complete_link(api, victim_tenant, victim, callback)
    assert refused.status_code == 400 and "another account" in refused.json()["detail"]
    # The sign-in is burnt: the attacker cannot redeem the victim's code either.
    assert complete_link(api, attacker_tenant, attacker, callback).status_code == 400

    # The attacker completes their own sign-in with a code from another browser's sign-in.
    own = sign_in_msa(api, attacker_tenant, attacker, f"attacker-{uuid.uuid4().hex[:6]}@outlook.example")
    victims = sign_in_msa(api, victim_tenant, victim, victim_email)
    mixed = complete_link(api, attacker_tenant, attacker, {"code": victims["code"], "state": own["state"]})
    assert mixed.status_code == 400
    assert complete_link(api, attacker_tenant, attacker, victims).status_code == 400

    link = api.request("GET", "/me/msa-link", as_=api.member(victim_tenant, victim)).json()
    assert link["msaId"] == victim_msa and link["partnerId"] == victim_partner
    assert api.request("GET", "/me/msa-link", as_=api.member(attacker_tenant, attacker)).status_code == 404


def test_a_departed_employee_cannot_link(api: Api) -> None:
    partner_id, tenant, user = employee(api)
    assert api.request("DELETE", f"/partners/{partner_id}/users/{user}", as_=api.admin(tenant)).status_code == 204
    response = api.request("POST", "/me/msa-link", as_=api.member(tenant, user), json={})
    assert response.status_code == 403


def test_an_msa_without_email_links_keyed_on_its_oid(api: Api) -> None:
    """A personal account signed up with a phone number has no address in its id token."""
    from devhost.msa import stable_oid

    partner_id, tenant, user = employee(api)
    phone = "+1425" + str(uuid.uuid4().int)[:7]
    api.host.msa.omit_email = True
    try:
        linked = link_msa(api, tenant, user, phone)
    finally:
        api.host.msa.omit_email = False
    assert linked.status_code == 200, linked.text
    assert linked.json()["msaId"] == stable_oid(phone) and linked.json()["partnerId"] == partner_id
    feed(api, stable_oid(phone), "70-533")
    assert exam_requirement(cloud_platform(api, partner_id))["contributors"] == [user]
