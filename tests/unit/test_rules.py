"""The rules, second pass (issue 13): gold implies silver, catalog rows as written, path
overrides, expiring means depended on, performance lapses foreseen."""

from __future__ import annotations

from datetime import date, timedelta

from shared.domain.evaluation import Override, PartnerSnapshot
from tests.unit.test_evaluation import ON, ach, comp, person, run

# --- 1. gold implies silver ---------------------------------------------------------------------


def app_builder_gold(**extra: object) -> PartnerSnapshot:
    people = [person(i) for i in range(1, 5)]
    return PartnerSnapshot(
        "p1", people=people, achievements=[ach(i, "MCSD-APP-BUILDER", kind="certification") for i in range(1, 5)], **extra
    )  # type: ignore[arg-type]


def test_gold_met_with_no_silver_path_met_keeps_silver_met_and_not_at_risk() -> None:
    c = comp(run(app_builder_gold(held={"application-development": "silver"})), "application-development")
    silver, gold = c["levels"]
    assert gold["met"] and not any(p["met"] for p in silver["paths"])
    assert silver["met"] is True and silver["impliedBy"] == "gold"
    assert c["achievedLevel"] == "gold" and c["atRisk"] is False


def test_a_gold_override_implies_silver_too() -> None:
    override = Override("o1", "datacenter", "gold", None, None, "migration", ON + timedelta(days=200))
    c = comp(run(PartnerSnapshot("p1", overrides=[override], held={"datacenter": "silver"})), "datacenter")
    assert c["levels"][0]["met"] is True and c["atRisk"] is False


def test_implied_silver_lapses_with_gold() -> None:
    expires = ON + timedelta(days=20)
    snap = PartnerSnapshot(
        "p1",
        people=[person(i) for i in range(1, 5)],
        achievements=[ach(i, "MCSD-APP-BUILDER", kind="certification", expires=expires) for i in range(1, 5)],
        held={"application-development": "silver"},
    )
    c = comp(run(snap), "application-development")
    assert c["earliestExpiry"] == expires.isoformat() and c["atRisk"] is True
    assert c["levels"][0]["met"] is True
    after = comp(run(snap, on=expires), "application-development")
    assert after["achievedLevel"] == "none" and after["levels"][0]["met"] is False


def test_silver_met_on_its_own_is_not_marked_implied() -> None:
    snap = PartnerSnapshot("p1", people=[person(1), person(2)], achievements=[ach(1, "70-480"), ach(2, "70-483")])
    silver = comp(run(snap), "application-development")["levels"][0]
    assert silver["met"] is True and "impliedBy" not in silver
    _ = date


def test_the_people_an_implied_silver_depends_on_are_named() -> None:
    c = comp(run(app_builder_gold(held={"application-development": "silver"})), "application-development")
    assert [s["userId"] for s in c["singlePointsOfFailure"]] == ["u1", "u2", "u3", "u4"]
    assert {s["level"] for s in c["singlePointsOfFailure"]} == {"silver"}
