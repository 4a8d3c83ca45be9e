"""Renewal-at-risk through the local host: an employee who counted leaves, the partner is
evaluated, the alert is raised once and reaches the Logic App stand-in as a CloudEvent."""

from __future__ import annotations

import time
import uuid
from typing import Any

from shared.domain.alert_rules import RENEWAL_AT_RISK_TITLE
from tests.e2e.conftest import Api, link_msa, wait_for
from tests.receiver import Receiver


def test_an_employee_leaves_and_the_renewal_at_risk_alert_reaches_the_logic_app_once(api: Api, alert_receiver: Receiver) -> None:
    partner_id, tenant = api.register_partner()
    added = api.request(
        "POST",
        f"/partners/{partner_id}/users",
        as_=api.admin(tenant),
        json={"users": [{"displayName": "Ada Lovelace", "email": "ada@x.com"}]},
    )
    user = added.json()["results"][0]["userId"]
    msa_id = link_msa(api, tenant, user, f"ada-{uuid.uuid4().hex[:6]}@outlook.example").json()["msaId"]
    api.request(
        "POST",
        "/achievements",
        as_=api.feed(),
        json={"achievements": [{"msaId": msa_id, "kind": "exam", "code": "70-533", "earnedOn": "2026-01-10"}]},
    )
    figures = {"asOf": "2026-10-31", "metrics": [{"metric": "revenueUsd", "competencyId": "cloud-platform", "value": 20000}]}
    assert api.request("PUT", f"/partners/{partner_id}/performance", as_=api.feed(), json=figures).status_code in (200, 201)

    first = api.request("POST", f"/partners/{partner_id}/evaluations", as_=api.operator()).json()
    assert next(c for c in first["competencies"] if c["competencyId"] == "cloud-platform")["achievedLevel"] == "silver"
    bought = api.request("POST", f"/partners/{partner_id}/membership", as_=api.admin(tenant), json={"level": "silver"})
    assert bought.status_code == 201, bought.text
    assert {"competencyId": "cloud-platform", "level": "silver"} in bought.json()["businessProfile"]

    assert api.request("DELETE", f"/partners/{partner_id}/users/{user}", as_=api.admin(tenant)).status_code == 204
    second = api.request("POST", f"/partners/{partner_id}/evaluations", as_=api.operator()).json()
    assert next(c for c in second["competencies"] if c["competencyId"] == "cloud-platform")["atRisk"] is True

    def at_risk_events() -> list[dict[str, Any]]:
        return [e for e in alert_receiver.events if e["subject"] == partner_id and e["type"] == "competency.renewal.atrisk"]

    wait_for(lambda: len(at_risk_events()) == 1)
    [event] = at_risk_events()
    assert event["specversion"] == "1.0" and event["data"]["title"] == RENEWAL_AT_RISK_TITLE
    assert event["data"]["competencyId"] == "cloud-platform" and event["data"]["level"] == "silver"
    assert "Ada Lovelace" in event["data"]["detail"] and event["data"]["cause"] == "employeeLeft"

    membership = api.request("GET", f"/partners/{partner_id}/membership", as_=api.member(tenant)).json()
    assert membership["level"] == "silver" and membership["renewalAtRisk"] is True  # still displayed

    api.request("POST", f"/partners/{partner_id}/evaluations", as_=api.operator())
    time.sleep(1.0)
    assert len(at_risk_events()) == 1  # re-evaluation raises nothing new
    listed = api.request("GET", f"/partners/{partner_id}/alerts", as_=api.admin(tenant)).json()["alerts"]
    at_risk = [a for a in listed if a["type"] == "competency.renewal.atrisk"]
    assert len(at_risk) == 1 and at_risk[0]["delivery"]["state"] == "delivered"
    assert api.request("GET", f"/partners/{partner_id}/alerts", as_=api.member(tenant)).status_code == 403
