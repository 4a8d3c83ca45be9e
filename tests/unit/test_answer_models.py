"""The answers' models and the code that builds the answers agree: an answer built by the
engine (``to_api``, kept off the models for the nightly path's speed) or by a service is
accepted by its model unchanged, and by the schema the OpenAPI document publishes for it."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any, get_args

import jsonschema_rs
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from functions.openapi import DOCUMENT_PATH
from shared.domain import designations as pcs
from shared.domain.evaluation import Override, PartnerSnapshot
from shared.services.designations import DesignationCatalogOut, DesignationsOut
from shared.services.evaluation import EvaluationOut
from tests.unit import test_designations as designation_cases
from tests.unit.test_evaluation import ON, ach, cloud_platform_silver, dates, person, revenue, run, snapshots

DOCUMENT = json.loads(DOCUMENT_PATH.read_text())


def holds(model: type[BaseModel], answer: dict[str, Any]) -> None:
    """``answer`` is exactly what ``model`` describes, in the model and in the published schema."""
    assert model.model_validate(answer).model_dump(by_alias=True, mode="json", exclude_unset=True) == answer
    schema = {"$ref": f"#/components/schemas/{model.__name__}", "components": DOCUMENT["components"]}
    errors = [str(e) for e in jsonschema_rs.validator_for(schema).iter_errors(answer)]
    assert errors == []


# --- the evaluation (Evaluation.to_api) --------------------------------------------------------


def test_the_engines_evaluations_are_what_the_model_describes() -> None:
    level_override = Override("o1", "datacenter", "gold", None, None, "migration", ON + timedelta(days=20))
    path_override = Override("o2", "cloud-platform", "gold", "azure-consumption", None, "figures late", ON + timedelta(days=5))
    requirement_override = Override("o3", "cloud-platform", "silver", "azure-consumption", "azure-consumption", "late", ON)
    cases = [
        PartnerSnapshot("p1"),
        cloud_platform_silver(),
        cloud_platform_silver(held={"cloud-platform": "silver"}),  # single points of failure
        cloud_platform_silver(
            held={"cloud-platform": "silver"}, achievements=[ach(1, "70-533", expires=ON + timedelta(days=10))]
        ),  # expiring
        cloud_platform_silver(
            held={"cloud-platform": "silver"},
            achievements=[ach(1, "70-534", earned=date(2017, 6, 1))],
            metrics=[revenue("cloud-platform", 15000, date(2018, 12, 1))],
        ),  # a retired exam's grace
        cloud_platform_silver(
            people=[person(1), person(2, active=False)], metrics=[], overrides=[level_override, path_override, requirement_override]
        ),
    ]
    on_days = [ON, ON, ON, ON, date(2018, 12, 1), ON]
    answers = [run(snapshot, on=on) for snapshot, on in zip(cases, on_days, strict=True)]
    for answer in answers:
        holds(EvaluationOut, answer)
    competencies = [c for a in answers for c in a["competencies"]]
    shown = {key for c in competencies for key, value in c.items() if value} | {
        key for c in competencies for lv in c["levels"] for key in lv
    }
    assert {"nextLevel", "singlePointsOfFailure", "expiring", "earliestExpiry", "impliedBy", "overrideReason"} <= shown
    assert any("acceptedUntil" in e for c in competencies for e in c["expiring"])


@settings(max_examples=60, deadline=None)
@given(snapshots(), dates, st.integers(0, 90))
def test_every_evaluation_is_what_the_model_describes(snapshot: PartnerSnapshot, on: date, window: int) -> None:
    holds(EvaluationOut, run(snapshot, on=on, window=window))


# --- the designations (DesignationsEvaluation.to_api) ------------------------------------------


def _designations(snapshot: pcs.DesignationSnapshot, on: date = designation_cases.ON) -> dict[str, Any]:
    result = pcs.evaluate_designations(designation_cases.CATALOG, snapshot, on)
    return {**result.to_api(), "evaluatedAt": "2026-11-25T02:00:00Z"}  # as the service stores it


def test_the_engines_designations_are_what_the_model_describes() -> None:
    partner = designation_cases.infrastructure_partner
    history = {"2026-07": {"infrastructure-azure": pcs.MonthRecord(72, date(2026, 7, 3))}}
    with_history = partner(adds=1)
    cases = [
        pcs.DesignationSnapshot("p"),
        partner(),  # qualifies: falls below 70 later, people and customers it cannot lose
        partner(expiring={2: designation_cases.ON + timedelta(days=30)}),  # an expiring certification
        pcs.DesignationSnapshot("p", with_history.people, with_history.achievements, with_history.facts, history=history),
        pcs.DesignationSnapshot("p", facts=[designation_cases.fact("t1", "defender-endpoint", "CPOR", paid_seats=30)]),
    ]
    answers = [_designations(snapshot) for snapshot in cases]
    for answer in answers:
        holds(DesignationsOut, answer)
    shown = {key for a in answers for d in a["designations"] for key, value in d.items() if value}
    shown |= {key for a in answers for d in a["designations"] for m in d["metrics"] for key in m}
    assert {"fallsBelow70On", "cannotLose", "expiring", "qualifiedOn", "sources", "prerequisites", "contributors"} <= shown


@settings(max_examples=20, deadline=None)
@given(designation_cases.dated_certs, designation_cases.facts_strategy)
def test_every_designations_answer_is_what_the_model_describes(
    held: list[tuple[int, str, int, int | None]], facts: list[pcs.CustomerFact]
) -> None:
    on = designation_cases.ON
    achievements = [
        designation_cases.cert(
            n, code, earned=on + timedelta(days=earned), expires=None if expires is None else on + timedelta(days=expires)
        )
        for n, code, earned, expires in held
    ]
    people = [designation_cases.person(i) for i in range(12)]
    holds(DesignationsOut, _designations(pcs.DesignationSnapshot("p", people, achievements, facts)))


def test_the_designations_catalog_is_what_the_model_describes() -> None:
    holds(DesignationCatalogOut, designation_cases.CATALOG.to_api())


def test_the_alert_types_are_those_the_rules_raise() -> None:
    from shared.domain import alert_rules
    from shared.services.alerts import AlertType

    rules = (alert_rules.TYPE_AT_RISK, alert_rules.TYPE_EXPIRING, alert_rules.TYPE_ATTAINED, alert_rules.TYPE_REMINDER)
    assert get_args(AlertType) == (*rules, *pcs.ALERT_TYPES)
