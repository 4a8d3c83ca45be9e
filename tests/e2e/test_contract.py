"""Real answers of a full flow match the published contract, whose objects are closed: a
field the document does not describe fails here (fuzzing seldom reaches these shapes)."""

from __future__ import annotations

import json
import uuid

import httpx
import jsonschema_rs

from functions.openapi import DOCUMENT_PATH
from tests.e2e.conftest import Api, link_msa

DOCUMENT = json.loads(DOCUMENT_PATH.read_text())


def conforms(response: httpx.Response, path: str, method: str) -> None:
    content = DOCUMENT["paths"]["/api" + path][method]["responses"][str(response.status_code)]["content"]
    schema = {**content["application/json"]["schema"], "components": DOCUMENT["components"]}
    errors = [str(e) for e in jsonschema_rs.validator_for(schema).iter_errors(response.json())]
    assert errors == [], f"{method.upper()} {path} {response.status_code}: {errors[:3]}"


def test_the_answers_of_a_full_flow_match_the_closed_contract(api: Api) -> None:
    partner_id, tenant = api.register_partner()
    p = f"/partners/{partner_id}"
    added = api.request("POST", f"{p}/users", as_=api.admin(tenant), json={"users": [{"displayName": "Ada", "email": "ada@x.com"}]})
    conforms(added, "/partners/{partnerId}/users", "post")
    user = added.json()["results"][0]["userId"]
    msa = link_msa(api, tenant, user, f"ada-{uuid.uuid4().hex[:6]}@outlook.example").json()["msaId"]
    fed = api.request(
        "POST",
        "/achievements",
        as_=api.feed(),
        json={
            "achievements": [
                {"msaId": msa, "kind": "exam", "code": "70-533", "earnedOn": "2026-01-10", "expiresOn": "2027-01-15"},
                {"msaId": msa, "kind": "certification", "code": "70-532", "earnedOn": "2026-01-10"},
            ]
        },
    )
    conforms(fed, "/achievements", "post")
    assert len(fed.json()["rejected"]) == 1
    figures = {"asOf": "2026-10-31", "metrics": [{"metric": "revenueUsd", "competencyId": "cloud-platform", "value": 20000}]}
    conforms(api.request("PUT", f"{p}/performance", as_=api.feed(), json=figures), "/partners/{partnerId}/performance", "put")
    conforms(api.request("POST", f"{p}/evaluations", as_=api.operator()), "/partners/{partnerId}/evaluations", "post")
    bought = api.request("POST", f"{p}/membership", as_=api.admin(tenant), json={"level": "silver"})
    assert bought.status_code == 201, bought.text
    conforms(bought, "/partners/{partnerId}/membership", "post")
    override = {"competencyId": "datacenter", "level": "silver", "pathId": "datacenter-exams", "reason": "migration of records"}
    conforms(
        api.request("PUT", f"{p}/overrides/o1", as_=api.operator(), json=override), "/partners/{partnerId}/overrides/{overrideId}", "put"
    )
    for path in ("", "/competencies", "/membership", "/competencies/history", "/users", "/alerts"):
        who = api.admin(tenant)
        response = api.request("GET", p + path, as_=who)
        assert response.status_code == 200, (path, response.text)
        conforms(response, "/partners/{partnerId}" + path, "get")
    conforms(api.request("GET", "/competencies", as_=api.member(tenant)), "/competencies", "get")
    import_id = added.json()["importId"]
    conforms(api.request("GET", f"{p}/imports/{import_id}", as_=api.admin(tenant)), "/partners/{partnerId}/imports/{importId}", "get")
