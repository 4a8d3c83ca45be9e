"""The evaluate capability through the local host: the nightly timer fans out one message
per partner and the queue trigger evaluates each; a redelivered message changes nothing;
overrides and the skills report."""

from __future__ import annotations

import csv
import functools
import io
import time
import uuid
from typing import Any

from shared import bootstrap
from shared.queues import EVALUATE_PARTNER
from tests.e2e.conftest import Api, link_msa, wait_for


def cloud_platform(evaluation: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in evaluation["competencies"] if c["competencyId"] == "cloud-platform")


def test_the_nightly_timer_evaluates_every_partner_through_the_queue(api: Api) -> None:
    partners = [api.register_partner() for _ in range(3)]
    for partner_id, tenant in partners:
        assert api.request("GET", f"/partners/{partner_id}/competencies", as_=api.member(tenant)).status_code == 404  # not yet
    sent: list[dict[str, Any]] = []
    queue = bootstrap.container().queue
    original = queue.send_many

    def spy(name: str, bodies: Any) -> int:
        bodies = list(bodies)
        if name == EVALUATE_PARTNER:
            sent.extend(bodies)
        return original(name, bodies)

    queue.send_many = spy  # type: ignore[method-assign,assignment]
    try:
        assert api.http.post(api.host.base_url + "/admin/functions/nightly_evaluation").status_code == 202
    finally:
        queue.send_many = original  # type: ignore[method-assign]
    ids = [m["partnerId"] for m in sent]
    assert sorted(ids) == sorted(set(ids))  # one message per partner
    assert {p for p, _ in partners} <= set(ids)

    def evaluated(partner_id: str, tenant: str) -> bool:
        return api.request("GET", f"/partners/{partner_id}/competencies", as_=api.member(tenant)).status_code == 200

    for partner_id, tenant in partners:
        wait_for(functools.partial(evaluated, partner_id, tenant))


def test_a_redelivered_message_yields_the_same_stored_evaluation(api: Api) -> None:
    partner_id, tenant = api.register_partner()
    from shared.bootstrap import evaluation_service
    from shared.services.evaluation import evaluate_message

    message = {"partnerId": partner_id, "runKey": "nightly:2026-11-25", "evaluatedAt": "2026-11-25T02:00:00Z"}
    evaluate_message(message, evaluation_service())
    first = api.request("GET", f"/partners/{partner_id}/competencies", as_=api.member(tenant)).json()
    evaluate_message(message, evaluation_service())
    again = api.request("GET", f"/partners/{partner_id}/competencies", as_=api.member(tenant)).json()
    assert again == first and first["evaluatedAt"] == "2026-11-25T02:00:00Z"
    history = bootstrap.container().store.query(f"partner:{partner_id}", types=["evaluationHistory"])
    assert len(history) == 1


def test_an_operator_override_is_shown_audited_and_counts(api: Api) -> None:
    partner_id, tenant = api.register_partner()
    body = {"competencyId": "datacenter", "level": "silver", "reason": "Exam results delayed at the test centre"}
    put = api.request("PUT", f"/partners/{partner_id}/overrides/delay-1", as_=api.operator(), json=body)
    assert put.status_code == 201, put.text
    granted = put.json()
    assert granted["createdBy"] and granted["active"] is True
    assert granted["expiresOn"] > time.strftime("%Y-%m-%d")  # default: three months
    evaluation = api.request("POST", f"/partners/{partner_id}/evaluations", as_=api.operator()).json()
    datacenter = next(c for c in evaluation["competencies"] if c["competencyId"] == "datacenter")
    assert datacenter["achievedLevel"] == "silver"
    assert datacenter["levels"][0]["override"] is True and datacenter["levels"][0]["overrideReason"] == body["reason"]
    assert (
        api.request("PUT", f"/partners/{partner_id}/overrides/bad", as_=api.operator(), json={**body, "competencyId": "nope"}).status_code
        == 400
    )
    assert api.request("PUT", f"/partners/{partner_id}/overrides/delay-2", as_=api.admin(tenant), json=body).status_code == 403


def test_the_skills_report_says_who_holds_what_and_what_counts(api: Api) -> None:
    partner_id, tenant = api.register_partner()
    users = api.request(
        "POST",
        f"/partners/{partner_id}/users",
        as_=api.admin(tenant),
        json={"users": [{"displayName": "Linked Lin", "email": "lin@x.com"}, {"displayName": "Unlinked Una", "email": "una@x.com"}]},
    ).json()["results"]
    msa = link_msa(api, tenant, users[0]["userId"], f"lin-{uuid.uuid4().hex[:6]}@outlook.example").json()["msaId"]
    feed = [
        {"msaId": msa, "kind": "exam", "code": "70-533", "earnedOn": "2026-01-10"},
        {"msaId": msa, "kind": "exam", "code": "70-532", "earnedOn": "2024-01-10", "expiresOn": "2025-01-10"},
    ]
    assert api.request("POST", "/achievements", as_=api.feed(), json={"achievements": feed}).json()["accepted"] == 2
    figures = {"asOf": "2026-10-31", "metrics": [{"metric": "revenueUsd", "competencyId": "cloud-platform", "value": 20000}]}
    api.request("PUT", f"/partners/{partner_id}/performance", as_=api.feed(), json=figures)
    assert (
        cloud_platform(api.request("POST", f"/partners/{partner_id}/evaluations", as_=api.operator()).json())["achievedLevel"] == "silver"
    )

    report = api.request("GET", f"/partners/{partner_id}/skills-report", as_=api.admin(tenant))
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(report.text)))
    by_code = {r["code"]: r for r in rows if r["displayName"] == "Linked Lin"}
    assert by_code["70-533"]["msaLinked"] == "yes" and "cloud-platform" in by_code["70-533"]["countsToward"]
    assert by_code["70-532"]["notCountedBecause"] == "expired"
    assert by_code["70-533"]["title"] == "Implementing Microsoft Azure Infrastructure Solutions"  # from the catalog

    history = api.request("GET", f"/partners/{partner_id}/competencies/history", as_=api.member(tenant))
    assert history.status_code == 200, history.text
    [night] = history.json()["nights"][-1:]
    assert cloud_platform(night)["achievedLevel"] == "silver"
    bad = api.request("GET", f"/partners/{partner_id}/competencies/history?from=yesterday", as_=api.member(tenant))
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")
    [una] = [r for r in rows if r["displayName"] == "Unlinked Una"]
    assert una["msaLinked"] == "no" and una["notCountedBecause"] == "MSA not linked"
    assert api.request("GET", f"/partners/{partner_id}/skills-report", as_=api.member(tenant)).status_code == 403


def test_membership_not_eligible_names_the_gap(api: Api) -> None:
    partner_id, tenant = api.register_partner()
    api.request("POST", f"/partners/{partner_id}/evaluations", as_=api.operator())
    refused = api.request("POST", f"/partners/{partner_id}/membership", as_=api.admin(tenant), json={"level": "silver"})
    assert refused.status_code == 409 and refused.headers["content-type"].startswith("application/problem+json")
    assert "more" in refused.json()["detail"] and refused.json().get("gap")
    view = api.request("GET", f"/partners/{partner_id}/membership", as_=api.member(tenant)).json()
    assert view["level"] == "none" and view["eligibleLevels"] == [] and view["businessProfile"] == []


def test_the_skills_report_and_the_log_never_hold_a_runnable_formula(api: Api) -> None:
    partner_id, tenant = api.register_partner()
    hostile = '=HYPERLINK("http://evil.example","open")'
    quoted = '"' + hostile.replace('"', '""') + '"'
    added = api.request(
        "POST",
        f"/partners/{partner_id}/users",
        as_=api.admin(tenant),
        content=("Display name,Email address\r\n" + quoted + ",h@x.com\r\nAda;=1+1,ada@x.com\r\n").encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert added.status_code == 201, added.text
    # Someone whose token's name claim is a formula signs in (to link an MSA).
    member = {"Authorization": "Bearer " + api.host.token(tenant, extra={"name": "@SUM(1+1)*cmd|' /C calc'!A0"})}
    assert api.request("POST", "/me/msa-link", as_=member, json={}).status_code == 200
    report = api.request("GET", f"/partners/{partner_id}/skills-report", as_=api.admin(tenant)).text
    log = api.request("GET", f"/partners/{partner_id}/imports/{added.json()['importId']}/log", as_=api.admin(tenant)).text
    for text in (report, log):
        for separator in (",", ";", "\t"):
            cells = [c for row in csv.reader(io.StringIO(text, newline=""), delimiter=separator) for c in row]
            assert not [c for c in cells if c.lstrip(' "')[:1] in ("=", "+", "-", "@", "\t", "\r")], (separator, text)
    names = [r["displayName"] for r in csv.DictReader(io.StringIO(report, newline=""))]
    assert "'" + hostile in names and "Ada;'=1+1" in names and "'@SUM(1+1)*cmd|' /C calc'!A0" in names
