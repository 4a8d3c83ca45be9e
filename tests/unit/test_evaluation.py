"""The evaluation engine's rules, on the shipped catalog: table-driven cases with boundary
dates, and properties that must hold for every input (Hypothesis)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.catalog import LEVEL_RANK, load_catalog
from shared.domain.evaluation import Achievement, EvaluationFacts, MetricFigure, Override, PartnerSnapshot, Person, evaluate

CATALOG = load_catalog()
ON = date(2026, 11, 25)
AT = datetime(2026, 11, 25, 2, tzinfo=UTC)


def person(n: int, *, active: bool = True, linked: bool = True) -> Person:
    return Person(f"u{n}", f"Person {n}", active, f"m{n}" if linked else None)


def ach(n: int, code: str, *, kind: str = "exam", earned: date = date(2026, 1, 1), expires: date | None = None) -> Achievement:
    return Achievement(f"m{n}", kind, code, earned, expires)  # type: ignore[arg-type]


def revenue(competency: str, value: float, as_of: date = date(2026, 10, 31), metric: str = "revenueUsd") -> MetricFigure:
    return MetricFigure(metric, competency, as_of, value)


def run(snapshot: PartnerSnapshot, on: date = ON, window: int = 60) -> dict[str, Any]:
    return evaluate(CATALOG, snapshot, on, evaluated_at=AT, alert_window_days=window).to_api()


def comp(evaluation: dict[str, Any], competency_id: str) -> dict[str, Any]:
    return next(c for c in evaluation["competencies"] if c["competencyId"] == competency_id)


def requirement(evaluation: dict[str, Any], competency_id: str, level: str, path_id: str, requirement_id: str) -> dict[str, Any]:
    lv = next(x for x in comp(evaluation, competency_id)["levels"] if x["level"] == level)
    p = next(x for x in lv["paths"] if x["pathId"] == path_id)
    return next(r for r in p["requirements"] if r["requirementId"] == requirement_id)


def cloud_platform_silver(**overrides: Any) -> PartnerSnapshot:
    values: dict[str, Any] = {
        "partner_id": "p1",
        "people": [person(1)],
        "achievements": [ach(1, "70-533")],
        "metrics": [revenue("cloud-platform", 15000)],
    }
    values.update(overrides)
    return PartnerSnapshot(**values)


# --- who counts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "achievement", "counts"),
    [
        (person(1), ach(1, "70-533"), True),
        (person(1, active=False), ach(1, "70-533"), False),  # departed
        (person(1, linked=False), ach(1, "70-533"), False),  # MSA not linked here
        (person(1), ach(1, "70-533", expires=ON), True),  # expiresOn is its last day: still counts today
        (person(1), ach(1, "70-533", expires=ON - timedelta(days=1)), False),  # its last day was yesterday
        (person(1), ach(1, "70-533", earned=ON), True),  # earned today
        (person(1), ach(1, "70-533", earned=ON + timedelta(days=1)), False),  # not yet earned
        (person(1), ach(1, "70-483"), False),  # not listed by this competency
    ],
    ids=["linked", "departed", "unlinked", "last-day-today", "last-day-yesterday", "earned-today", "future", "unlisted"],
)
def test_a_person_counts_only_while_active_linked_and_valid(who: Person, achievement: Achievement, counts: bool) -> None:
    e = run(cloud_platform_silver(people=[who], achievements=[achievement]))
    r = requirement(e, "cloud-platform", "silver", "azure-consumption", "azure-skill")
    assert r["current"] == (1 if counts else 0)
    assert r["contributors"] == (["u1"] if counts else [])
    assert comp(e, "cloud-platform")["achievedLevel"] == ("silver" if counts else "none")


def test_one_person_counts_once_however_many_qualifying_exams() -> None:
    e = run(cloud_platform_silver(achievements=[ach(1, "70-533"), ach(1, "70-532"), ach(1, "70-535")]))
    assert requirement(e, "cloud-platform", "gold", "azure-consumption", "azure-skill")["current"] == 1


def test_all_of_needs_every_code_held_by_the_same_person() -> None:
    both_split = PartnerSnapshot(
        "p1",
        people=[person(1), person(2)],
        achievements=[ach(1, "70-346"), ach(2, "70-347")],
        metrics=[revenue("cloud-productivity", 2000, metric="activeUsage")],
    )
    e = run(both_split)
    assert requirement(e, "cloud-productivity", "silver", "managed-service", "office-365-skill")["current"] == 0
    one_has_both = PartnerSnapshot(
        "p1",
        people=[person(1)],
        achievements=[ach(1, "70-346"), ach(1, "70-347")],
        metrics=[revenue("cloud-productivity", 2000, metric="activeUsage")],
    )
    e = run(one_has_both)
    assert comp(e, "cloud-productivity")["achievedLevel"] == "silver"


def test_n_people_m_of_whom_also_hold_x() -> None:
    devops = [ach(1, "70-496"), ach(1, "70-498"), ach(2, "70-496"), ach(2, "70-498")]
    e = run(PartnerSnapshot("p1", people=[person(1), person(2)], achievements=devops))
    assert comp(e, "devops")["achievedLevel"] == "none"  # nobody also holds 70-497 / PSM-I / ...
    e = run(PartnerSnapshot("p1", people=[person(1), person(2)], achievements=[*devops, ach(2, "PSM-I", kind="certification")]))
    assert comp(e, "devops")["achievedLevel"] == "silver"


def test_a_retired_exam_counts_until_its_grace_date() -> None:
    snapshot = cloud_platform_silver(
        achievements=[ach(1, "70-534", earned=date(2017, 6, 1))], metrics=[revenue("cloud-platform", 15000, date(2018, 12, 1))]
    )
    assert comp(run(snapshot, on=date(2018, 12, 31)), "cloud-platform")["achievedLevel"] == "silver"  # last accepted day
    assert comp(run(snapshot, on=date(2019, 1, 1)), "cloud-platform")["achievedLevel"] == "none"


def test_performance_sums_only_the_trailing_twelve_months() -> None:
    figures = [revenue("cloud-platform", 10000, date(2025, 11, 25)), revenue("cloud-platform", 10000, date(2025, 11, 26))]
    e = run(cloud_platform_silver(metrics=figures))
    r = requirement(e, "cloud-platform", "silver", "azure-consumption", "azure-consumption")
    assert r["current"] == 10000 and not r["met"]  # the figure of exactly 12 months ago is out
    e = run(cloud_platform_silver(metrics=[*figures, revenue("cloud-platform", 5000, ON)]))
    assert requirement(e, "cloud-platform", "silver", "azure-consumption", "azure-consumption")["met"]


def test_seat_counts_take_the_latest_figure_not_the_sum() -> None:
    figures = [
        revenue("cloud-productivity", 1500, date(2026, 9, 30), "activeUsage"),
        revenue("cloud-productivity", 1600, date(2026, 10, 31), "activeUsage"),
    ]
    e = run(PartnerSnapshot("p1", people=[person(1)], achievements=[ach(1, "MCSA-OFFICE-365", kind="certification")], metrics=figures))
    r = requirement(e, "cloud-productivity", "silver", "managed-service", "active-entitlements")
    assert r["current"] == 1600 and not r["met"]


def test_gold_needs_its_own_thresholds() -> None:
    snapshot = PartnerSnapshot(
        "p1",
        people=[person(1), person(2)],
        achievements=[ach(1, "ASMT-CLOUD-PLATFORM", kind="assessment"), ach(2, "ASMT-CLOUD-PLATFORM", kind="assessment")],
        metrics=[revenue("cloud-platform", 100000)],
    )
    e = run(snapshot)
    c = comp(e, "cloud-platform")
    assert c["achievedLevel"] == "gold"
    assert c["levels"][0]["met"] is True


# --- expiry, risk, overrides ------------------------------------------------------------------


def test_earliest_expiry_is_the_last_day_the_held_level_is_met() -> None:
    expires = ON + timedelta(days=40)
    e = run(cloud_platform_silver(achievements=[ach(1, "70-533", expires=expires)], held={"cloud-platform": "silver"}))
    c = comp(e, "cloud-platform")
    assert c["earliestExpiry"] == expires.isoformat()
    assert c["atRisk"] is True  # within the 60-day window
    assert c["expiring"] == [
        {"competencyId": "cloud-platform", "level": "silver", "userId": "u1", "code": "70-533", "expiresOn": expires.isoformat()}
    ]
    assert (
        comp(
            run(cloud_platform_silver(achievements=[ach(1, "70-533", expires=expires)], held={"cloud-platform": "silver"}), window=30),
            "cloud-platform",
        )["atRisk"]
        is False
    )


def test_a_second_qualified_person_pushes_the_expiry_out() -> None:
    snapshot = cloud_platform_silver(
        people=[person(1), person(2)],
        achievements=[ach(1, "70-533", expires=ON + timedelta(days=10)), ach(2, "70-532", expires=ON + timedelta(days=300))],
        held={"cloud-platform": "silver"},
    )
    c = comp(run(snapshot), "cloud-platform")
    assert c["earliestExpiry"] == (ON + timedelta(days=300)).isoformat()
    assert c["atRisk"] is False and c["expiring"] == []


def test_a_held_level_no_longer_met_is_at_risk() -> None:
    c = comp(run(cloud_platform_silver(people=[person(1, active=False)], held={"cloud-platform": "silver"})), "cloud-platform")
    assert c["achievedLevel"] == "none" and c["atRisk"] is True


def test_single_points_of_failure_are_the_people_the_level_cannot_lose() -> None:
    c = comp(run(cloud_platform_silver(held={"cloud-platform": "silver"})), "cloud-platform")
    assert [s["userId"] for s in c["singlePointsOfFailure"]] == ["u1"]
    two = cloud_platform_silver(people=[person(1), person(2)], achievements=[ach(1, "70-533"), ach(2, "70-532")])
    assert comp(run(two), "cloud-platform")["singlePointsOfFailure"] == []


def test_the_gap_to_the_next_level_is_in_words() -> None:
    c = comp(run(cloud_platform_silver()), "cloud-platform")
    assert c["nextLevel"]["level"] == "gold"
    assert "USD 85,000 more revenue" in c["nextLevel"]["gap"]
    assert "1 more individual holding one of 70-532" in c["nextLevel"]["gap"]


@pytest.mark.parametrize(("expires_on", "met"), [(ON, True), (ON - timedelta(days=1), False)], ids=["last-day", "expired"])
def test_an_override_counts_until_its_last_day(expires_on: date, met: bool) -> None:
    override = Override("o1", "cloud-platform", "silver", None, None, "migration", expires_on)
    e = run(PartnerSnapshot("p1", overrides=[override]))
    silver = comp(e, "cloud-platform")["levels"][0]
    assert silver["met"] is met and silver["override"] is met


def test_a_requirement_override_is_shown_as_such() -> None:
    override = Override("o1", "cloud-platform", "silver", "azure-consumption", "azure-consumption", "figures late", ON + timedelta(days=30))
    e = run(cloud_platform_silver(metrics=[], overrides=[override]))
    r = requirement(e, "cloud-platform", "silver", "azure-consumption", "azure-consumption")
    assert r["met"] is True and r["override"] is True
    assert comp(e, "cloud-platform")["achievedLevel"] == "silver"


def test_every_competency_and_requirement_is_reported() -> None:
    e = run(PartnerSnapshot("p1"))
    assert e["catalogVersion"] == CATALOG.catalog_version
    assert [c["competencyId"] for c in e["competencies"]] == [c.competency_id for c in CATALOG.competencies]
    for c in e["competencies"]:
        for lv in c["levels"]:
            for p in lv["paths"]:
                for r in p["requirements"]:
                    assert {"requirementId", "kind", "description", "required", "current", "met", "contributors"} <= r.keys()


# --- properties -------------------------------------------------------------------------------

CODES = sorted(CATALOG.exam_by_code)
KIND = {code: exam.kind for code, exam in CATALOG.exam_by_code.items()}
METRICS = ["revenueUsd", "activeUsage", "deployedSeats", "newCustomers"]
COMPETENCIES = [c.competency_id for c in CATALOG.competencies]

dates = st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 1, 1))


@st.composite
def snapshots(draw: st.DrawFn) -> PartnerSnapshot:
    n = draw(st.integers(min_value=0, max_value=8))
    people = [
        Person(f"u{i}", f"P{i}", draw(st.booleans()) or i % 2 == 0, f"m{i}" if draw(st.booleans()) or i % 3 else None) for i in range(n)
    ]
    achievements = []
    for _ in range(draw(st.integers(min_value=0, max_value=20))):
        code = draw(st.sampled_from(CODES))
        earned = draw(dates)
        expires = draw(st.one_of(st.none(), dates))
        achievements.append(Achievement(f"m{draw(st.integers(0, max(n - 1, 0)))}", KIND[code], code, earned, expires))
    metrics = [
        MetricFigure(draw(st.sampled_from(METRICS)), draw(st.sampled_from(COMPETENCIES)), draw(dates), draw(st.integers(0, 200000)))
        for _ in range(draw(st.integers(0, 6)))
    ]
    return PartnerSnapshot("p", people=people, achievements=achievements, metrics=metrics)


def levels(e: dict[str, Any]) -> dict[str, int]:
    return {c["competencyId"]: LEVEL_RANK[c["achievedLevel"]] for c in e["competencies"]}


@settings(max_examples=150, deadline=None)
@given(snapshots(), st.sampled_from(CODES), dates, st.integers(0, 7))
def test_adding_a_valid_achievement_never_lowers_a_level(snapshot: PartnerSnapshot, code: str, on: date, who: int) -> None:
    before = levels(run(snapshot, on=on))
    extra = Achievement(f"m{who}", KIND[code], code, on - timedelta(days=1), None)
    after = levels(run(PartnerSnapshot("p", snapshot.people, [*snapshot.achievements, extra], snapshot.metrics), on=on))
    assert all(after[c] >= before[c] for c in before)


@settings(max_examples=150, deadline=None)
@given(snapshots(), dates, st.integers(0, 7))
def test_removing_a_user_never_raises_a_level(snapshot: PartnerSnapshot, on: date, who: int) -> None:
    before = levels(run(snapshot, on=on))
    remaining = [p for p in snapshot.people if p.user_id != f"u{who}"]
    after = levels(run(PartnerSnapshot("p", remaining, snapshot.achievements, snapshot.metrics), on=on))
    assert all(after[c] <= before[c] for c in before)


@settings(max_examples=100, deadline=None)
@given(snapshots(), dates, st.randoms(use_true_random=False))
def test_evaluation_is_deterministic_and_independent_of_document_order(snapshot: PartnerSnapshot, on: date, rnd: random.Random) -> None:
    first = run(snapshot, on=on)
    shuffled = PartnerSnapshot(
        "p",
        rnd.sample(list(snapshot.people), len(snapshot.people)),
        rnd.sample(list(snapshot.achievements), len(snapshot.achievements)),
        rnd.sample(list(snapshot.metrics), len(snapshot.metrics)),
    )
    assert run(shuffled, on=on) == first


@st.composite
def near_boundaries(draw: st.DrawFn) -> tuple[PartnerSnapshot, date]:
    """Partners around their thresholds, with dates close to the evaluation day: levels met
    and held, achievements about to lapse, figures about to leave the trailing year."""
    on = draw(st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 1, 1)))
    near = st.integers(min_value=-40, max_value=120).map(lambda d: on + timedelta(days=d))
    n = draw(st.integers(min_value=1, max_value=4))
    people = [Person(f"u{i}", f"P{i}", True, f"m{i}") for i in range(n)]
    codes = ["70-533", "70-532", "ASMT-CLOUD-PLATFORM", "70-534", "MCSA-OFFICE-365", "70-346", "70-347"]
    achievements = [
        Achievement(f"m{draw(st.integers(0, n - 1))}", KIND[c], c, draw(near) - timedelta(days=100), draw(st.one_of(st.none(), near)))
        for c in draw(st.lists(st.sampled_from(codes), min_size=1, max_size=8))
    ]
    metrics = [
        MetricFigure("revenueUsd", "cloud-platform", draw(near) - timedelta(days=365), draw(st.sampled_from([8000, 16000, 60000]))),
        MetricFigure("activeUsage", "cloud-productivity", draw(near) - timedelta(days=365), 2500),
        MetricFigure("revenueUsd", "cloud-platform", draw(near) - timedelta(days=200), 9000),
    ]
    overrides = [Override("o", "datacenter", "silver", None, None, "r", draw(near))] if draw(st.booleans()) else []
    held = draw(st.sampled_from([{}, {"cloud-platform": "silver"}, {"cloud-platform": "gold", "cloud-productivity": "silver"}]))
    return PartnerSnapshot("p", people, achievements, metrics, overrides, held), on  # type: ignore[arg-type]


@settings(max_examples=400, deadline=None)
@given(near_boundaries(), st.integers(min_value=0, max_value=200), st.integers(min_value=1, max_value=90))
def test_the_result_holds_until_its_stable_until_day(case: tuple[PartnerSnapshot, date], offset: int, window: int) -> None:
    """What lets the nightly run skip re-computing an unchanged partner: nothing that moves
    with the calendar changes the result before ``stable_until``, and it changes on it."""
    snapshot, on = case
    first = evaluate(CATALOG, snapshot, on, evaluated_at=AT, alert_window_days=window)
    assert first.stable_until > on
    later_day = min(on + timedelta(days=offset), first.stable_until - timedelta(days=1))
    later = evaluate(CATALOG, snapshot, later_day, evaluated_at=AT, alert_window_days=window)
    assert later.to_api() == first.to_api()


@settings(max_examples=300, deadline=None)
@given(st.one_of(near_boundaries(), st.tuples(snapshots(), dates)), st.integers(min_value=1, max_value=90))
def test_the_rules_read_the_same_facts_from_a_result_and_from_its_stored_form(case: tuple[PartnerSnapshot, date], window: int) -> None:
    """Two roads to what the membership and alert rules read: the engine's result directly, and
    the stored evaluation (the API shape) through its one parser. They agree on every fact,
    numbers and days included."""
    snapshot, on = case
    result = evaluate(CATALOG, snapshot, on, evaluated_at=AT, alert_window_days=window)
    assert EvaluationFacts.from_api(result.to_api()) == result.facts()


def test_the_facts_carry_expiring_achievements_lapse_days_and_the_next_level() -> None:
    """The agreement above covers these parts: a result that has each of them."""
    snapshot = cloud_platform_silver(achievements=[ach(1, "70-533", expires=ON + timedelta(days=30))])
    result = evaluate(CATALOG, snapshot, ON, evaluated_at=AT, alert_window_days=60)
    facts = result.facts()
    cloud = facts.competency("cloud-platform")
    assert cloud is not None and cloud.achieved_level == "silver" and cloud.next_level is not None
    silver = cloud.level("silver")
    assert silver is not None and silver.met and silver.expires_on == ON + timedelta(days=30) and silver.contributors == {"u1"}
    assert [(e.competency_id, e.user_id, e.code, e.expires_on) for e in facts.expiring] == [
        ("cloud-platform", "u1", "70-533", ON + timedelta(days=30))
    ]
    assert any(r.expires_on is not None for r in silver.performance)  # the revenue figure leaves its trailing period
    assert EvaluationFacts.from_api(result.to_api()) == facts
