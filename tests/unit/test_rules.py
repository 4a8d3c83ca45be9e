"""The rules, second pass (issue 13): gold implies silver, catalog rows as written, path
overrides, expiring means depended on, performance lapses foreseen."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings

from shared.domain.evaluation import MetricFigure, Override, PartnerSnapshot
from tests.unit.test_evaluation import ON, ach, cloud_platform_silver, comp, dates, near_boundaries, person, revenue, run, snapshots

# --- 1. gold implies silver ---------------------------------------------------------------------


def app_builder_gold(**extra: Any) -> PartnerSnapshot:
    people = [person(i) for i in range(1, 5)]
    return PartnerSnapshot(
        "p1", people=people, achievements=[ach(i, "MCSD-APP-BUILDER", kind="certification") for i in range(1, 5)], **extra
    )


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
    assert comp(run(snap, on=expires), "application-development")["achievedLevel"] == "gold"  # its last day
    after = comp(run(snap, on=expires + timedelta(days=1)), "application-development")
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


# --- 4. expiring means depended on ------------------------------------------------------------


def test_an_expiring_achievement_with_a_lasting_alternative_is_not_named() -> None:
    snap = cloud_platform_silver(
        achievements=[ach(1, "70-533", expires=ON + timedelta(days=20)), ach(1, "70-532")], held={"cloud-platform": "silver"}
    )
    c = comp(run(snap), "cloud-platform")
    assert c["expiring"] == [] and c["atRisk"] is False
    assert c["earliestExpiry"] == "2027-10-30"  # the revenue figure's last day in the trailing year


def test_of_two_lapsing_holds_the_one_that_ends_the_level_is_named() -> None:
    first, last = ON + timedelta(days=10), ON + timedelta(days=20)
    snap = cloud_platform_silver(
        achievements=[ach(1, "70-533", expires=first), ach(1, "70-532", expires=last)], held={"cloud-platform": "silver"}
    )
    c = comp(run(snap), "cloud-platform")
    assert [(e["code"], e["expiresOn"]) for e in c["expiring"]] == [("70-532", last.isoformat())]
    assert c["earliestExpiry"] == last.isoformat()


def test_two_people_lapsing_the_same_day_are_both_named_when_either_would_keep_the_level() -> None:
    day = ON + timedelta(days=10)
    snap = cloud_platform_silver(
        people=[person(1), person(2)],
        achievements=[ach(1, "70-533", expires=day), ach(2, "70-532", expires=day)],
        held={"cloud-platform": "silver"},
    )
    assert [e["userId"] for e in comp(run(snap), "cloud-platform")["expiring"]] == ["u1", "u2"]


# --- 10. dates mean one thing: a retired exam is "accepted until" -------------------------------


def test_a_retired_exam_is_named_with_its_accepted_until_day() -> None:
    on = date(2018, 12, 1)
    snap = cloud_platform_silver(
        achievements=[ach(1, "70-534", earned=date(2017, 6, 1))],
        metrics=[revenue("cloud-platform", 15000, date(2018, 11, 1))],
        held={"cloud-platform": "silver"},
    )
    c = comp(run(snap, on=on), "cloud-platform")
    assert c["expiring"] == [
        {
            "competencyId": "cloud-platform",
            "level": "silver",
            "userId": "u1",
            "code": "70-534",
            "expiresOn": "2018-12-31",
            "acceptedUntil": "2018-12-31",
        }
    ]


# --- 2. path overrides are honoured -------------------------------------------------------------


def test_a_path_override_counts_the_path_as_met_through_its_last_day() -> None:
    last = ON + timedelta(days=30)
    override = Override("o1", "application-development", "silver", "app-builder-web", None, "migration", last)
    snap = PartnerSnapshot("p1", overrides=[override], held={"application-development": "silver"})
    c = comp(run(snap), "application-development")
    web = c["levels"][0]["paths"][0]
    assert web["pathId"] == "app-builder-web" and web["met"] is True and web["override"] is True
    assert web["overrideExpiresOn"] == last.isoformat()
    assert c["achievedLevel"] == "silver" and c["earliestExpiry"] == last.isoformat() and c["atRisk"] is True
    assert comp(run(snap, on=last), "application-development")["achievedLevel"] == "silver"
    assert comp(run(snap, on=last + timedelta(days=1)), "application-development")["achievedLevel"] == "none"


def test_a_path_override_of_another_path_or_level_changes_nothing() -> None:
    override = Override("o1", "application-development", "gold", "mcsd-app-builder", None, "migration", ON + timedelta(days=30))
    c = comp(run(PartnerSnapshot("p1", overrides=[override])), "application-development")
    assert c["achievedLevel"] == "gold" and c["levels"][0]["impliedBy"] == "gold"
    other = Override("o2", "datacenter", "silver", "datacenter-exams", None, "migration", ON + timedelta(days=30))
    assert comp(run(PartnerSnapshot("p1", overrides=[other])), "application-development")["achievedLevel"] == "none"


# --- 6. performance lapses are foreseen ---------------------------------------------------------


def test_revenue_leaving_the_trailing_year_is_foreseen() -> None:
    old, recent = MetricFigure("revenueUsd", "cloud-platform", date(2025, 12, 1), 10000), revenue("cloud-platform", 6000)
    c = comp(run(cloud_platform_silver(metrics=[old, recent], held={"cloud-platform": "silver"})), "cloud-platform")
    assert c["achievedLevel"] == "silver"
    assert c["earliestExpiry"] == "2026-11-30"  # from 2026-12-01 the figure of 2025-12-01 is out
    assert c["atRisk"] is True
    r = c["levels"][0]["paths"][0]["requirements"][0]
    assert r["requirementId"] == "azure-consumption" and r["expiresOn"] == "2026-11-30"
    later = comp(run(cloud_platform_silver(metrics=[old, recent]), on=date(2026, 12, 1)), "cloud-platform")
    assert later["achievedLevel"] == "none"


def test_revenue_that_stays_above_the_threshold_lapses_only_with_its_last_figure() -> None:
    figures = [MetricFigure("revenueUsd", "cloud-platform", date(2025, 12, 1), 10000), revenue("cloud-platform", 16000)]
    c = comp(run(cloud_platform_silver(metrics=figures, held={"cloud-platform": "silver"})), "cloud-platform")
    assert c["earliestExpiry"] == "2027-10-30" and c["atRisk"] is False


# --- properties ---------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(snapshots(), dates)
def test_gold_met_always_means_silver_met(snapshot: PartnerSnapshot, on: date) -> None:
    for c in run(snapshot, on=on)["competencies"]:
        silver, gold = c["levels"]
        assert not gold["met"] or silver["met"]
        assert c["achievedLevel"] == ("gold" if gold["met"] else "silver" if silver["met"] else "none")


@settings(max_examples=200, deadline=None)
@given(near_boundaries())
def test_every_expiring_achievement_named_ends_the_level_when_it_lapses(case: tuple[PartnerSnapshot, date]) -> None:
    snapshot, on = case
    # All else unchanged: only what is known on the evaluation day (a record dated later would
    # start counting by the lapse day and could meet the level on its own).
    snapshot = replace(
        snapshot,
        achievements=[a for a in snapshot.achievements if a.earned_on <= on],
        metrics=[m for m in snapshot.metrics if m.as_of <= on],
    )
    for c in run(snapshot, on=on)["competencies"]:
        for item in c["expiring"]:
            day_after = date.fromisoformat(item["expiresOn"]) + timedelta(days=1)
            later = comp(run(snapshot, on=day_after), c["competencyId"])
            assert not next(lv for lv in later["levels"] if lv["level"] == item["level"])["met"]
            assert c["earliestExpiry"] is not None and item["expiresOn"] >= c["earliestExpiry"]
