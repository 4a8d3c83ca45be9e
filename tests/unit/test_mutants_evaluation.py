"""The engine, the cases the other tests leave open: several competencies, paths, overrides
and people in one evaluation, each date rule on both sides, every field of the result as a
partner reads it. A small catalog of its own keeps the cases readable and independent of
the shipped one."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from shared.domain.catalog import Catalog
from shared.domain.evaluation import (
    Achievement,
    MetricFigure,
    Override,
    PartnerSnapshot,
    Person,
    achieved_levels,
    evaluate,
    stable_until,
)

ON = date(2026, 11, 25)  # the alert window of 60 days ends on 2027-01-24
HORIZON = date(2027, 1, 24)
AT = datetime(2026, 11, 25, 2, 0, 7, tzinfo=UTC)


def skill(rid: str, required: int, kind: str = "certifiedIndividuals", **codes: list[str]) -> dict[str, Any]:
    return {"requirementId": rid, "kind": kind, "required": required, **codes, "description": f"{rid} people"}


def figure(rid: str, kind: str, required: float, period: str, aggregate: str = "sum") -> dict[str, Any]:
    return {"requirementId": rid, "kind": kind, "required": required, "period": period, "aggregate": aggregate, "description": rid}


def path(pid: str, *requirements: dict[str, Any]) -> dict[str, Any]:
    return {"pathId": pid, "description": f"{pid} path", "requirements": list(requirements)}


def competency(cid: str, silver: list[dict[str, Any]], gold: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "competencyId": cid,
        "name": cid.title(),
        "source": "program.md",
        "levels": [{"level": "silver", "paths": silver}, {"level": "gold", "paths": gold}],
    }


CATALOG = Catalog.model_validate(
    {
        "catalogVersion": "test-1",
        "exams": [
            {"code": "X1", "title": "Exam one", "kind": "exam"},
            {"code": "X2", "title": "Exam two", "kind": "exam"},
            {"code": "OLD", "title": "Retired exam", "kind": "exam", "retiredOn": "2026-06-30", "acceptedUntil": "2026-12-31"},
            {"code": "C1", "title": "Certification", "kind": "certification"},
            {"code": "A1", "title": "Assessment", "kind": "assessment"},
        ],
        "competencies": [
            competency(
                "alpha",
                [
                    path("exams", skill("exam-one", 1, anyOf=["X1", "X2", "OLD"])),
                    path("asmt", skill("asmt-one", 1, "assessedIndividuals", anyOf=["A1"])),
                ],
                [
                    path("exams", skill("exam-two", 2, anyOf=["X1", "X2", "OLD"]), skill("cert", 1, allOf=["C1"])),
                    path("asmt", skill("asmt-two", 2, "assessedIndividuals", anyOf=["A1"])),
                ],
            ),
            competency(
                "beta",
                [path("rev", figure("revenue", "revenueUsd", 1000, "P12M"))],
                [
                    path(
                        "rev",
                        figure("revenue", "revenueUsd", 5000, "P12M"),
                        figure("seats", "deployedSeats", 10, "P3M", "latest"),
                        figure("users", "activeUsage", 100, "P1M"),
                        figure("new", "newCustomers", 3, "P6M"),
                    ),
                    path("people", skill("three", 3, allOf=["X1"])),
                ],
            ),
            competency(
                "delta",
                [path("dup", skill("a", 1, anyOf=["X1"]), skill("b", 1, anyOf=["X1", "X2"]))],
                [path("many", skill("many", 5, anyOf=["X1"]))],
            ),
            competency(
                "gamma",
                [path("combo", skill("combo", 2, allOf=["X1"], anyOf=["C1", "X2"]))],
                [path("all", skill("all-three", 1, allOf=["X1", "C1", "X2"]))],
            ),
        ],
    }
)


def people(*numbers: int) -> list[Person]:
    return [Person(f"u{n}", f"Person {n}", True, f"m{n}") for n in numbers]


def ach(n: int, code: str, expires: date | None = None, earned: date = date(2026, 1, 1)) -> Achievement:
    kind = {"C1": "certification", "A1": "assessment"}.get(code, "exam")
    return Achievement(f"m{n}", kind, code, earned, expires)  # type: ignore[arg-type]


def snapshot(**values: Any) -> PartnerSnapshot:
    return PartnerSnapshot(partner_id="p1", **values)


def run(snap: PartnerSnapshot, on: date = ON, window: int = 60) -> dict[str, Any]:
    return evaluate(CATALOG, snap, on, evaluated_at=AT, alert_window_days=window).to_api()


def comp(result: dict[str, Any], cid: str) -> dict[str, Any]:
    return next(c for c in result["competencies"] if c["competencyId"] == cid)


def level(result: dict[str, Any], cid: str, name: str) -> dict[str, Any]:
    return next(lv for lv in comp(result, cid)["levels"] if lv["level"] == name)


def req(result: dict[str, Any], cid: str, name: str, pid: str, rid: str) -> dict[str, Any]:
    p = next(x for x in level(result, cid, name)["paths"] if x["pathId"] == pid)
    return next(r for r in p["requirements"] if r["requirementId"] == rid)


def r_api(rid: str, kind: str, required: float, current: float, met: bool, contributors: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "requirementId": rid,
        "kind": kind,
        "description": f"{rid} people",
        "required": required,
        "current": current,
        "met": met,
        "contributors": contributors,
        **extra,
    }


# --- one partner, every field ---------------------------------------------------------------------

TEAM = snapshot(
    people=people(1, 2, 3, 4),
    achievements=[
        ach(1, "X1"),
        ach(2, "OLD"),  # accepted until 2026-12-31: counts until then
        ach(3, "C1", expires=date(2027, 3, 1)),
        ach(4, "A1", expires=date(2026, 12, 10)),
    ],
    held={"alpha": "gold"},
)


def test_a_held_gold_level_that_depends_on_everyone_reports_every_field() -> None:
    result = run(TEAM)
    assert result["partnerId"] == "p1"
    assert result["evaluatedAt"] == "2026-11-25T02:00:07Z"
    assert result["catalogVersion"] == "test-1"
    assert [c["competencyId"] for c in result["competencies"]] == ["alpha", "beta", "delta", "gamma"]
    assert comp(result, "alpha") == {
        "competencyId": "alpha",
        "name": "Alpha",
        "achievedLevel": "gold",
        "levels": [
            {
                "level": "silver",
                "met": True,
                "override": False,
                "paths": [
                    {"pathId": "exams", "met": True, "requirements": [r_api("exam-one", "certifiedIndividuals", 1, 2, True, ["u1", "u2"])]},
                    {
                        "pathId": "asmt",
                        "met": True,
                        "requirements": [r_api("asmt-one", "assessedIndividuals", 1, 1, True, ["u4"], expiresOn="2026-12-10")],
                    },
                ],
            },
            {
                "level": "gold",
                "met": True,
                "override": False,
                "paths": [
                    {
                        "pathId": "exams",
                        "met": True,
                        "requirements": [
                            r_api("exam-two", "certifiedIndividuals", 2, 2, True, ["u1", "u2"], expiresOn="2026-12-31"),
                            r_api("cert", "certifiedIndividuals", 1, 1, True, ["u3"], expiresOn="2027-03-01"),
                        ],
                    },
                    {"pathId": "asmt", "met": False, "requirements": [r_api("asmt-two", "assessedIndividuals", 2, 1, False, ["u4"])]},
                ],
                "expiresOn": "2026-12-31",
            },
        ],
        "atRisk": True,  # gold is met until 2026-12-31, within the window
        "earliestExpiry": "2026-12-31",
        "nextLevel": None,
        "singlePointsOfFailure": [
            {"userId": "u1", "displayName": "Person 1", "level": "gold"},
            {"userId": "u2", "displayName": "Person 2", "level": "gold"},
            {"userId": "u3", "displayName": "Person 3", "level": "gold"},
        ],
        "expiring": [
            {
                "competencyId": "alpha",
                "level": "gold",
                "userId": "u2",
                "code": "OLD",
                "expiresOn": "2026-12-31",
                "acceptedUntil": "2026-12-31",
            }
        ],
    }


def test_single_points_of_failure_and_expiring_are_judged_on_the_held_level_not_the_achieved() -> None:
    alpha = comp(run(snapshot(people=TEAM.people, achievements=TEAM.achievements, held={"alpha": "silver"})), "alpha")
    assert alpha["achievedLevel"] == "gold"
    assert alpha["singlePointsOfFailure"] == []  # silver survives anyone leaving
    assert alpha["expiring"] == []  # silver does not lapse
    assert alpha["atRisk"] is False
    assert alpha["earliestExpiry"] == "2026-12-31"  # the achieved gold is watched too


def test_without_a_held_level_the_achieved_level_is_the_one_watched() -> None:
    alpha = comp(run(snapshot(people=TEAM.people, achievements=TEAM.achievements)), "alpha")
    # Nothing held: the gold achieved now counts as held (a first evaluation judges as the next
    # night will), and it lapses within the alert window.
    assert alpha["atRisk"] is True
    assert [s["userId"] for s in alpha["singlePointsOfFailure"]] == ["u1", "u2", "u3"]
    assert alpha["expiring"] == [
        {"competencyId": "alpha", "level": "gold", "userId": "u2", "code": "OLD", "expiresOn": "2026-12-31", "acceptedUntil": "2026-12-31"}
    ]


def test_nothing_achieved_and_nothing_held() -> None:
    result = run(snapshot(people=people(1)))
    for cid in ("alpha", "gamma"):
        c = comp(result, cid)
        assert (c["achievedLevel"], c["atRisk"], c["earliestExpiry"], c["singlePointsOfFailure"], c["expiring"]) == (
            "none",
            False,
            None,
            [],
            [],
        )
    assert comp(result, "alpha")["nextLevel"] == {
        "level": "silver",
        "gap": "1 more individual holding one of X1, X2, OLD; or 1 more individual who passed one of A1",
    }


def test_a_held_level_that_is_not_met_is_at_risk() -> None:
    alpha = comp(run(snapshot(people=people(1), achievements=[ach(1, "X1")], held={"alpha": "gold"})), "alpha")
    assert (alpha["achievedLevel"], alpha["atRisk"], alpha["singlePointsOfFailure"], alpha["expiring"]) == ("silver", True, [], [])
    assert alpha["earliestExpiry"] is None  # silver does not lapse, gold is not met
    assert alpha["nextLevel"] == {
        "level": "gold",
        "gap": "1 more individual holding one of X1, X2, OLD and 1 more individual holding all of C1; "
        "or 2 more individuals who passed one of A1",
    }


@pytest.mark.parametrize(("expires", "at_risk"), [(HORIZON - timedelta(days=1), True), (HORIZON, False)])
def test_at_risk_and_expiring_on_both_sides_of_the_window(expires: date, at_risk: bool) -> None:
    snap = snapshot(people=people(1, 2, 3), achievements=[ach(1, "X1"), ach(2, "X2", expires), ach(3, "C1")], held={"alpha": "gold"})
    alpha = comp(run(snap), "alpha")
    assert alpha["atRisk"] is at_risk
    assert alpha["earliestExpiry"] == expires.isoformat()
    expected = [{"competencyId": "alpha", "level": "gold", "userId": "u2", "code": "X2", "expiresOn": expires.isoformat()}]
    assert alpha["expiring"] == (expected if at_risk else [])
    # A wider window sees it.
    assert comp(run(snap, window=61), "alpha")["atRisk"] is True


def test_an_achievement_two_requirements_depend_on_is_named_once() -> None:
    snap = snapshot(people=people(1), achievements=[ach(1, "X1", date(2026, 12, 20))], held={"delta": "silver"})
    assert comp(run(snap), "delta")["expiring"] == [
        {"competencyId": "delta", "level": "silver", "userId": "u1", "code": "X1", "expiresOn": "2026-12-20"}
    ]


# --- who counts -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "achievement", "on", "counts"),
    [
        (Person("u1", "P", True, "m1"), ach(1, "X1", earned=ON), ON, True),
        (Person("u1", "P", True, "m1"), ach(1, "X1", earned=ON + timedelta(days=1)), ON, False),
        (Person("u1", "P", True, "m1"), ach(1, "X1", expires=ON - timedelta(days=1)), ON, False),  # its last day was yesterday
        (Person("u1", "P", True, "m1"), ach(1, "X1", expires=ON), ON, True),  # today is its last day
        (Person("u1", "P", False, "m1"), ach(1, "X1"), ON, False),
        (Person("u1", "P", True, None), ach(1, "X1"), ON, False),
        (Person("u1", "P", True, "m9"), ach(1, "X1"), ON, False),
        (Person("u1", "P", True, "m1"), ach(1, "OLD"), date(2026, 12, 31), True),  # the last accepted day
        (Person("u1", "P", True, "m1"), ach(1, "OLD"), date(2027, 1, 1), False),
        (Person("u1", "P", True, "m1"), ach(1, "OLD", expires=date(2026, 12, 15)), date(2026, 12, 16), False),  # expiry first
    ],
)
def test_who_counts_on_both_sides_of_each_date(who: Person, achievement: Achievement, on: date, counts: bool) -> None:
    r = req(run(snapshot(people=[who], achievements=[achievement]), on=on), "alpha", "silver", "exams", "exam-one")
    assert (r["current"], r["contributors"], r["met"]) == ((1, ["u1"], True) if counts else (0, [], False))


@pytest.mark.parametrize(
    "order",
    [
        [ach(1, "X1", date(2027, 6, 1)), ach(1, "X1", date(2026, 12, 15))],
        [ach(1, "X1", date(2026, 12, 15)), ach(1, "X1", date(2027, 6, 1))],
        [ach(1, "X1", date(2027, 6, 1)), ach(1, "X1", ON)],
    ],
)
def test_of_duplicate_achievements_the_longest_lasting_counts_in_any_order(order: list[Achievement]) -> None:
    alpha = comp(run(snapshot(people=people(1), achievements=order, held={"alpha": "silver"})), "alpha")
    assert alpha["earliestExpiry"] == "2027-06-01"


def test_all_of_and_any_of_codes_are_held_by_the_same_person() -> None:
    snap = snapshot(
        people=people(1, 2, 3, 4, 5),
        achievements=[
            ach(1, "X1"),  # no alternative code
            ach(2, "C1"),  # no required code
            ach(3, "X1", date(2027, 9, 1)),
            ach(3, "C1", date(2027, 2, 1)),
            ach(4, "X1", date(2027, 5, 1)),
            ach(4, "C1", date(2027, 2, 1)),
            ach(4, "X2", date(2027, 4, 1)),
            ach(5, "X2"),
            ach(5, "C1"),
        ],
        held={"gamma": "gold"},
    )
    result = run(snap)
    assert req(result, "gamma", "silver", "combo", "combo") == {
        "requirementId": "combo",
        "kind": "certifiedIndividuals",
        "description": "combo people",
        "required": 2,
        "current": 2,
        "met": True,
        "contributors": ["u3", "u4"],
        "expiresOn": "2027-02-01",
    }
    assert req(result, "gamma", "gold", "all", "all-three")["contributors"] == ["u4"]
    gamma = comp(result, "gamma")
    # u3 lapses 2027-02-01 (X1 until September, the later of C1/X2 in February); u4 on 2027-04-01
    # (X1 until May, the later of C1/X2 in April); silver needs both: the earlier one.
    assert gamma["earliestExpiry"] == "2027-02-01"
    assert gamma["expiring"] == []  # gold lapses 2027-02-01: after the window
    assert gamma["singlePointsOfFailure"] == [{"userId": "u4", "displayName": "Person 4", "level": "gold"}]


# --- overrides ---------------------------------------------------------------------------------------


def override(
    oid: str, level: str, expires: date, path_id: str | None = None, requirement_id: str | None = None, cid: str = "alpha"
) -> Override:
    return Override(oid, cid, level, path_id, requirement_id, f"reason {oid}", expires)  # type: ignore[arg-type]


def test_a_level_override_holds_the_level_until_the_day_after_its_last_day() -> None:
    snap = snapshot(people=people(1), achievements=[ach(1, "X1")], overrides=[override("o1", "gold", date(2027, 2, 10))])
    alpha = comp(run(snap), "alpha")
    gold = level(run(snap), "alpha", "gold")
    assert (gold["met"], gold["override"], gold["overrideReason"], gold["overrideExpiresOn"]) == (True, True, "reason o1", "2027-02-10")
    assert [p["met"] for p in gold["paths"]] == [False, False]
    assert alpha["achievedLevel"] == "gold"
    assert alpha["earliestExpiry"] == "2027-02-10"
    assert (alpha["atRisk"], alpha["singlePointsOfFailure"], alpha["expiring"], alpha["nextLevel"]) == (False, [], [], None)
    assert "overrideReason" not in level(run(snap), "alpha", "silver")


@pytest.mark.parametrize(("expires", "applies"), [(ON, True), (ON - timedelta(days=1), False)])
def test_an_override_applies_through_its_last_day(expires: date, applies: bool) -> None:
    snap = snapshot(overrides=[override("o1", "silver", expires)], held={"alpha": "silver"})
    alpha = comp(run(snap), "alpha")
    assert alpha["achievedLevel"] == ("silver" if applies else "none")
    assert alpha["atRisk"] is True  # lapses tomorrow, or already not met


def test_an_override_for_another_competency_or_level_does_not_apply() -> None:
    snap = snapshot(
        overrides=[override("o1", "silver", date(2027, 1, 1), cid="gamma"), override("o2", "gold", date(2027, 1, 1), cid="beta")]
    )
    result = run(snap)
    assert comp(result, "alpha")["achievedLevel"] == "none"
    assert comp(result, "gamma")["achievedLevel"] == "silver"
    assert level(result, "beta", "gold")["met"] is True
    assert comp(result, "beta")["achievedLevel"] == "gold"


def test_the_latest_ending_override_is_the_one_shown() -> None:
    snap = snapshot(
        overrides=[
            override("o1", "gold", date(2027, 1, 1)),
            override("o2", "gold", date(2027, 3, 1)),
            override("o0", "gold", date(2026, 12, 1)),
        ]
    )
    gold = level(run(snap), "alpha", "gold")
    assert (gold["overrideReason"], gold["overrideExpiresOn"]) == ("reason o2", "2027-03-01")
    assert comp(run(snap), "alpha")["earliestExpiry"] == "2027-03-01"


@pytest.mark.parametrize("ids", [("o1", "o2"), ("o2", "o1")])
def test_of_overrides_ending_the_same_day_the_same_one_is_shown_whatever_the_order(ids: tuple[str, str]) -> None:
    snap = snapshot(overrides=[override(i, "gold", date(2027, 1, 1)) for i in ids])
    assert level(run(snap), "alpha", "gold")["overrideReason"] == "reason o2"


def test_a_requirement_override_covers_that_requirement_only() -> None:
    # exam-two is overridden, cert is not met: the gold exams path stays unmet.
    snap = snapshot(
        people=people(1), achievements=[ach(1, "X1")], overrides=[override("o1", "gold", date(2027, 2, 10), requirement_id="exam-two")]
    )
    result = run(snap)
    assert req(result, "alpha", "gold", "exams", "exam-two") == r_api(
        "exam-two", "certifiedIndividuals", 2, 1, True, ["u1"], override=True, expiresOn="2027-02-10"
    )
    assert req(result, "alpha", "gold", "exams", "cert") == r_api("cert", "certifiedIndividuals", 1, 0, False, [])
    assert level(result, "alpha", "gold")["met"] is False
    assert level(result, "alpha", "gold")["override"] is False
    assert comp(result, "alpha")["achievedLevel"] == "silver"


def test_a_requirement_override_with_the_rest_met_holds_the_level_until_it_ends() -> None:
    overrides = [
        override("o1", "gold", date(2027, 2, 10), path_id="exams", requirement_id="exam-two"),
        override("o2", "gold", date(2027, 5, 1), path_id="asmt", requirement_id="exam-two"),  # another path: not this one
        override("o3", "gold", date(2027, 5, 1), path_id="exams", requirement_id="asmt-two"),  # not in that path
    ]
    snap = snapshot(people=people(1, 3), achievements=[ach(1, "X1"), ach(3, "C1")], overrides=overrides, held={"alpha": "gold"})
    result = run(snap)
    alpha = comp(result, "alpha")
    assert req(result, "alpha", "gold", "exams", "exam-two")["override"] is True
    assert req(result, "alpha", "gold", "asmt", "asmt-two")["met"] is False
    assert "override" not in req(result, "alpha", "gold", "exams", "cert")
    assert (alpha["achievedLevel"], alpha["earliestExpiry"], alpha["atRisk"]) == ("gold", "2027-02-10", False)
    # u1 is covered by the override; only u3 holds the level up.
    assert alpha["singlePointsOfFailure"] == [{"userId": "u3", "displayName": "Person 3", "level": "gold"}]


def test_an_override_of_a_met_requirement_is_not_reported() -> None:
    snap = snapshot(
        people=people(1), achievements=[ach(1, "X1")], overrides=[override("o1", "silver", date(2027, 1, 1), requirement_id="exam-one")]
    )
    r = req(run(snap), "alpha", "silver", "exams", "exam-one")
    assert "override" not in r and r["met"] is True
    assert comp(run(snap), "alpha")["earliestExpiry"] is None


# --- performance ------------------------------------------------------------------------------------


def metric(kind: str, as_of: date, value: float, cid: str = "beta") -> MetricFigure:
    return MetricFigure(kind, cid, as_of, value)


BETA_FIGURES = [
    metric("revenueUsd", date(2025, 11, 25), 10000),  # the day the trailing year starts: outside
    metric("revenueUsd", date(2025, 11, 26), 400.256),
    metric("revenueUsd", ON, 700.2),
    metric("revenueUsd", ON + timedelta(days=1), 9999),  # not yet
    metric("revenueUsd", date(2026, 11, 1), 5000, cid="gamma"),  # another competency's
    metric("activeUsage", date(2026, 11, 1), 5000, cid="alpha"),
    metric("deployedSeats", date(2026, 8, 25), 50),  # three months ago: outside
    metric("deployedSeats", date(2026, 10, 1), 7),
    metric("deployedSeats", date(2026, 9, 1), 99),
    metric("deployedSeats", date(2026, 10, 1), 3),
    metric("activeUsage", date(2026, 10, 25), 500),  # one month ago: outside
    metric("newCustomers", date(2026, 6, 1), 1.5),
]


def test_performance_figures_of_the_trailing_period_in_words() -> None:
    result = run(snapshot(people=people(1), achievements=[ach(1, "X1")], metrics=BETA_FIGURES))
    beta = comp(result, "beta")
    assert beta["achievedLevel"] == "silver"
    rev = req(result, "beta", "silver", "rev", "revenue")
    assert (rev["current"], rev["required"], rev["met"], rev["contributors"]) == (1100.46, 1000, True, [])
    gold = {r["requirementId"]: (r["current"], r["met"]) for r in level(result, "beta", "gold")["paths"][0]["requirements"]}
    # Seats: the newest figure (of one day, the larger), not the sum.
    assert gold == {"revenue": (1100.46, False), "seats": (7, False), "users": (0, False), "new": (1.5, False)}
    assert beta["nextLevel"] == {
        "level": "gold",
        "gap": "USD 3,900 more revenue (trailing 12 months) and 3 more deployed seats (trailing 3 months) and "
        "100 more active users (trailing 1 months) and 2 more new customers (trailing 6 months); "
        "or 2 more individuals holding all of X1",
    }


@pytest.mark.parametrize(
    ("on", "as_of", "counted"),
    [
        (date(2026, 5, 31), date(2026, 2, 28), False),  # three months before 31 May is 28 February
        (date(2026, 5, 31), date(2026, 3, 1), True),
        (date(2026, 1, 15), date(2025, 10, 15), False),  # across the year
        (date(2026, 1, 15), date(2025, 10, 16), True),
        (date(2024, 5, 31), date(2024, 2, 29), False),  # leap year
        (date(2024, 5, 31), date(2024, 3, 1), True),
    ],
)
def test_the_trailing_period_starts_the_day_after_the_same_day_months_before(on: date, as_of: date, counted: bool) -> None:
    result = run(snapshot(metrics=[metric("deployedSeats", as_of, 11)]), on=on)
    assert req(result, "beta", "gold", "rev", "seats")["current"] == (11 if counted else 0)


def test_the_latest_figure_wins_whatever_the_order_given() -> None:
    figures = [metric("deployedSeats", date(2026, 11, 20), 12), metric("deployedSeats", date(2026, 11, 1), 30)]
    for order in (figures, figures[::-1]):
        assert req(run(snapshot(metrics=order)), "beta", "gold", "rev", "seats")["current"] == 12


# --- stable until --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("snap", "on", "window", "expected"),
    [
        (snapshot(), ON, 60, date.max),
        (snapshot(achievements=[ach(1, "X1", earned=date(2026, 12, 1))]), ON, 60, date(2026, 12, 1)),
        (snapshot(achievements=[ach(1, "X1", earned=ON)]), ON, 60, date.max),  # today is not after today
        (snapshot(achievements=[ach(1, "X1", expires=date(2027, 3, 1))]), ON, 60, date(2027, 1, 1)),  # enters the window
        (snapshot(achievements=[ach(1, "X1", expires=date(2027, 3, 1))]), ON, 120, date(2027, 3, 2)),  # the day after its last day
        (snapshot(achievements=[ach(1, "OLD")]), ON, 60, date(2027, 1, 1)),  # the retired exam's grace ends
        (snapshot(overrides=[override("o", "gold", date(2027, 3, 31))]), ON, 60, date(2027, 1, 31)),
        (snapshot(overrides=[override("o", "gold", date(2027, 3, 31))]), ON, 200, date(2027, 4, 1)),
        # A figure of 31 January leaves the one-month period on 1 March (31 January + 1 month is past February).
        (snapshot(metrics=[metric("revenueUsd", date(2026, 1, 31), 1)]), date(2026, 2, 10), 60, date(2026, 3, 1)),
        (snapshot(metrics=[metric("revenueUsd", date(2026, 11, 20), 1)]), ON, 60, date(2026, 12, 20)),
        (snapshot(metrics=[metric("revenueUsd", date(2026, 12, 5), 1)]), ON, 60, date(2026, 12, 5)),
    ],
)
def test_stable_until_is_the_first_day_the_result_can_change(snap: PartnerSnapshot, on: date, window: int, expected: date) -> None:
    assert stable_until(CATALOG, snap, on, window) == expected
    assert evaluate(CATALOG, snap, on, evaluated_at=AT, alert_window_days=window).stable_until == expected


def test_the_figure_leaves_its_period_exactly_on_the_stable_until_day() -> None:
    snap = snapshot(metrics=[metric("activeUsage", date(2026, 1, 31), 100)])
    day = stable_until(CATALOG, snap, date(2026, 2, 10), 60)
    assert req(run(snap, on=day - timedelta(days=1)), "beta", "gold", "rev", "users")["met"] is True
    assert req(run(snap, on=day), "beta", "gold", "rev", "users")["met"] is False


# --- reading an evaluation ---------------------------------------------------------------------------


def test_achieved_levels_read_from_the_api_shape() -> None:
    assert achieved_levels(None) == {}
    assert achieved_levels({}) == {}
    assert achieved_levels({"competencies": [{"competencyId": "a", "achievedLevel": "gold"}, {"competencyId": "b"}]}) == {
        "a": "gold",
        "b": "none",
    }
