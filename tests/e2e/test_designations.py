"""Solutions Partner designations through the local host: the customer-facts feed, the
partner's designations after an evaluation, the simulator and enrolment, as callers see them."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Api


def facts(*rows: tuple[str, str, str, float]) -> dict[str, Any]:
    return {
        "producedAt": "2026-11-20T05:00:00Z",
        "facts": [{"customerTenantId": t, "workload": w, "association": a, "revenueUsd": usd} for t, w, a, usd in rows],
    }


def test_feed_evaluate_and_read_the_partners_designations(api: Api) -> None:
    partner_id, tenant = api.register_partner()
    path = f"/partners/{partner_id}/customer-facts/2026-10"
    body = facts(("c1", "azure-sql-database", "CSP", 1500.0), ("c2", "azure-storage", "PAL", 2500.0))
    assert api.request("PUT", path, as_=api.member(tenant), json=body).status_code == 403
    refused = api.request("PUT", path, as_=api.feed(), json=facts(("c1", "azure-sql-database", "GDAP", 1500.0)))
    assert refused.status_code == 400 and refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["errors"] == [{"pointer": "#/facts/0/association", "detail": "GDAP is not an eligible association"}]
    assert api.request("PUT", f"/partners/{partner_id}/customer-facts/2026-13", as_=api.feed(), json=body).status_code == 400
    stored = api.request("PUT", path, as_=api.feed(), json=body)
    assert stored.status_code == 200 and stored.json()["stored"] is True and stored.json()["facts"] == 2
    assert api.request("PUT", path, as_=api.feed(), json=body).json()["detail"] == "Already stored."

    assert api.request("GET", f"/partners/{partner_id}/designations", as_=api.member(tenant)).status_code == 404  # not yet
    assert api.request("POST", f"/partners/{partner_id}/evaluations", as_=api.operator()).status_code == 200
    view = api.request("GET", f"/partners/{partner_id}/designations", as_=api.member(tenant))
    assert view.status_code == 200
    assert [d["designationId"] for d in view.json()["designations"]] == [
        "data-ai-azure",
        "infrastructure-azure",
        "digital-app-innovation-azure",
        "business-applications",
        "modern-work",
        "security",
    ]
    infra = api.request("GET", f"/partners/{partner_id}/designations/infrastructure-azure", as_=api.member(tenant)).json()
    adds = next(m for m in infra["metrics"] if m["metricId"] == "net-customer-adds")
    if infra["referenceMonth"] == "2026-10":  # the fed month is the reference month until December ends
        assert (adds["points"], adds["current"], adds["threshold"]) == (20, 2, 3)
    assert infra["status"] == "inProgress" and len(infra["history"]) == 6
    assert infra["pointsNeeded"]["steps"] and infra["qualificationWindow"]["from"].endswith("-01")
    assert api.request("GET", f"/partners/{partner_id}/designations/nope", as_=api.member(tenant)).status_code == 404
    # Another organisation sees nothing of it.
    _, other = api.register_partner()
    assert api.request("GET", f"/partners/{partner_id}/designations", as_=api.admin(other)).status_code == 404


def test_the_simulator_stores_nothing_and_enrolment_needs_a_qualified_designation(api: Api) -> None:
    partner_id, tenant = api.register_partner()
    api.request("POST", f"/partners/{partner_id}/evaluations", as_=api.operator())
    simulation = {
        "designationId": "security",
        "certifications": [{"code": "AZ-500", "people": 2}, {"code": "SC-200", "people": 2}, {"code": "SC-100", "people": 6}],
    }
    answer = api.request("POST", f"/partners/{partner_id}/designation-simulations", as_=api.member(tenant), json=simulation)
    assert answer.status_code == 200, answer.text
    [security] = answer.json()["designations"]
    assert answer.json()["stored"] is False and security["baselineScore"] == 0 and security["score"] == 40
    bad = api.request(
        "POST", f"/partners/{partner_id}/designation-simulations", as_=api.member(tenant), json={"certifications": [{"code": "XX-1"}]}
    )
    assert bad.status_code == 400 and bad.json()["errors"][0]["pointer"] == "#/certifications/0/code"
    view = api.request("GET", f"/partners/{partner_id}/designations/security", as_=api.member(tenant)).json()
    assert view["score"] == 0  # the simulation changed nothing
    refused = api.request("POST", f"/partners/{partner_id}/designations/security/enrolment", as_=api.admin(tenant))
    assert refused.status_code == 409 and refused.headers["content-type"].startswith("application/problem+json")
    assert "has not qualified" in refused.json()["detail"]
    assert api.request("POST", f"/partners/{partner_id}/designations/security/enrolment", as_=api.member(tenant)).status_code == 403


def test_the_designation_catalog_names_its_sources(api: Api) -> None:
    _, tenant = api.register_partner()
    catalog = api.request("GET", "/designations", as_=api.member(tenant)).json()
    assert catalog["designationsVersion"] == "2023.06"
    assert all(d["source"].startswith("https://learn.microsoft.com/") and d["sourceDate"] for d in catalog["designations"])
    assert catalog["associations"] == ["CSP", "DPOR", "PAL", "CPOR"]
