"""The answers' models and the code that builds the answers agree: an answer built by the
engine (``to_api``, kept off the models for the nightly path's speed) or by a service is
accepted by its model unchanged, and by the schema the OpenAPI document publishes for it."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import jsonschema_rs
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from functions.openapi import DOCUMENT_PATH
from shared.domain.evaluation import Override, PartnerSnapshot
from shared.services.evaluation import EvaluationOut
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
