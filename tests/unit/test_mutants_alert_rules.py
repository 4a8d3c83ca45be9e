"""Alert rules, the cases the other tests leave open: several competencies, levels and causes
in one evaluation, every field of every alert as the receiver reads it."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pytest

from shared.domain.alert_rules import (
    RENEWAL_AT_RISK_TITLE,
    TYPE_AT_RISK,
    TYPE_ATTAINED,
    TYPE_EXPIRING,
    Alert,
    PersonFacts,
    alert_id,
    raise_alerts,
)
from shared.domain.catalog import LEVEL_RANK
from shared.domain.membership import RenewalRisk
from tests.unit.facts import facts, maybe_facts

AT = datetime(2026, 11, 25, 2, tzinfo=UTC)
YESTERDAY = "2026-11-24T02:00:00Z"
TODAY = "2026-11-25T02:00:00Z"


def req(rid: str, kind: str, met: bool, contributors: list[str] = (), **extra: Any) -> dict[str, Any]:  # type: ignore[assignment]
    return {"requirementId": rid, "kind": kind, "met": met, "contributors": list(contributors), **extra}


def skill(contributors: list[str], met: bool = True) -> dict[str, Any]:
    return req("people", "certifiedIndividuals", met, contributors, required=1, current=len(contributors))


def competency(
    cid: str, achieved: str, silver: list[dict[str, Any]], gold: list[dict[str, Any]], name: str | None = None
) -> dict[str, Any]:
    out = {
        "competencyId": cid,
        "achievedLevel": achieved,
        "levels": [
            {"level": "silver", "paths": [{"pathId": "p", "requirements": silver}]},
            {"level": "gold", "paths": [{"pathId": "p", "requirements": gold}]},
        ],
    }
    if name is not None:
        out["name"] = name
    return out


def evaluation(at: str, *competencies: dict[str, Any]) -> dict[str, Any]:
    return {"evaluatedAt": at, "competencies": list(competencies)}


PEOPLE = {
    "ada": PersonFacts("ada", "Ada", departed=True, msa_unlinked=True),
    "bob": PersonFacts("bob", "Bob", msa_moved_to_other_organisation=True, msa_unlinked=True),
    "cy": PersonFacts("cy", "Cy", msa_unlinked=True),
    "dee": PersonFacts("dee", "Dee"),
    "eve": PersonFacts("eve", "Eve", departed=True),
}


def not_met(evaluation: dict[str, Any] | None, held: dict[str, str]) -> list[RenewalRisk]:
    """The renewal risks of a held level not met by ``evaluation`` (what the service passes)."""
    if evaluation is None:
        return []
    achieved = {c["competencyId"]: c.get("achievedLevel", "none") for c in evaluation.get("competencies", [])}
    return [
        RenewalRisk(cid, level, "notMet")
        for cid, level in sorted(held.items())
        if LEVEL_RANK[achieved.get(cid, "none")] < LEVEL_RANK[level]
    ]


def run(previous: dict[str, Any] | None, current: dict[str, Any], held: dict[str, str], expiring: list[dict[str, Any]] = ()) -> list[Alert]:  # type: ignore[assignment]
    return raise_alerts(
        partner_id="p1",
        previous=maybe_facts(previous),
        current=facts(current, expiring),
        held=held,
        people=PEOPLE,
        raised_at=AT,
        risks=not_met(current, held),
        previous_risks=not_met(previous, held),
    )


def at_risk(cid: str, level: str, detail: str, cause: str, episode: str = YESTERDAY) -> Alert:
    return Alert(
        id=alert_id("p1", TYPE_AT_RISK, cid, level, "notMet", episode),
        type=TYPE_AT_RISK,
        partner_id="p1",
        competency_id=cid,
        level=level,
        title=RENEWAL_AT_RISK_TITLE,
        detail=detail,
        cause=cause,
        raised_at=AT,
    )


def test_alert_ids_are_a_stable_digest_of_their_parts() -> None:
    assert alert_id("a", "b") == hashlib.sha256(b"a\x1fb").hexdigest()[:32]
    assert alert_id("a", "b") == "f04cdced9736a69da6103f08a4daaf8c"
    assert alert_id("ab") != alert_id("a", "b")


def test_every_lost_competency_is_reported_even_after_one_still_met() -> None:
    previous = evaluation(
        YESTERDAY,
        competency("a-kept", "silver", [skill(["dee"])], [skill([], met=False)], name="Kept"),
        competency("b-lost", "gold", [skill(["ada", "dee"])], [skill(["ada", "bob"])], name="Lost"),
        competency("c-lost", "silver", [skill(["cy"])], [skill([], met=False)]),
        competency("d-lost", "silver", [skill(["eve", "bob", "cy", "dee"])], [skill([], met=False)], name="Four"),
    )
    current = evaluation(
        TODAY,
        competency("a-kept", "silver", [skill(["dee"])], [skill([], met=False)], name="Kept"),
        competency("b-lost", "silver", [skill(["dee"])], [skill([], met=False)], name="Lost"),
        competency("c-lost", "none", [skill([], met=False)], [skill([], met=False)]),
        competency("d-lost", "none", [skill([], met=False)], [skill([], met=False)], name="Four"),
    )
    held = {"d-lost": "silver", "c-lost": "silver", "b-lost": "gold", "a-kept": "silver"}
    assert run(previous, current, held) == [
        at_risk("b-lost", "gold", "Lost (gold) is no longer met: employee left: Ada; MSA moved to another organisation: Bob.", "multiple"),
        at_risk("c-lost", "silver", "c-lost (silver) is no longer met: MSA unlinked: Cy.", "msaUnlinked"),
        at_risk(
            "d-lost",
            "silver",
            "Four (silver) is no longer met: employee left: Eve; MSA moved to another organisation: Bob; MSA unlinked: Cy; "
            "achievement expired: Dee.",
            "multiple",
        ),
    ]


@pytest.mark.parametrize(
    ("lost", "cause", "words"),
    [
        (["ada"], "employeeLeft", "employee left: Ada"),
        (["eve", "ada"], "employeeLeft", "employee left: Ada, Eve"),
        (["bob"], "msaMoved", "MSA moved to another organisation: Bob"),
        (["cy"], "msaUnlinked", "MSA unlinked: Cy"),
        (["dee"], "achievementExpired", "achievement expired: Dee"),
        (["zed"], "achievementExpired", "achievement expired: zed"),  # unknown person: the id
    ],
)
def test_one_kind_of_cause_is_named_with_every_person(lost: list[str], cause: str, words: str) -> None:
    previous = evaluation(YESTERDAY, competency("x", "silver", [skill(lost)], [skill([], met=False)]))
    current = evaluation(TODAY, competency("x", "none", [skill([], met=False)], [skill([], met=False)]))
    assert run(previous, current, {"x": "silver"}) == [at_risk("x", "silver", f"x (silver) is no longer met: {words}.", cause)]


def test_a_performance_shortfall_is_the_cause_when_nobody_stopped_counting() -> None:
    silver_before = [skill(["dee"]), req("rev", "revenueUsd", True, current=9000, required=8000)]
    silver_now = [
        skill(["dee"]),
        req("rev", "revenueUsd", False, current=7000, required=8000, description="Revenue"),
        req("use", "activeUsage", False, current=5, required=10),
        req("seats", "deployedSeats", False, current=1, required=2, description="Seats"),
        req("new", "newCustomers", False, current=0, required=3, description="New customers"),
        req("other", "certifiedIndividuals", False, current=0, required=1, description="Not a performance figure"),
        req("ok", "revenueUsd", True, current=10, required=1, description="Met"),
    ]
    gold_now = [req("gold-rev", "revenueUsd", False, current=1, required=99, description="Gold revenue")]
    previous = evaluation(YESTERDAY, competency("x", "silver", silver_before, [skill([], met=False)]))
    current = evaluation(TODAY, competency("x", "none", silver_now, gold_now))
    assert run(previous, current, {"x": "silver"}) == [
        at_risk(
            "x",
            "silver",
            "x (silver) is no longer met: performance below threshold: New customers: 0 of 3; Revenue: 7000 of 8000; "
            "Seats: 1 of 2; activeUsage: 5 of 10.",
            "performanceBelowThreshold",
        )
    ]


def test_a_gold_shortfall_is_read_from_the_gold_level_once_per_requirement() -> None:
    gold_before = [req("rev", "revenueUsd", True, current=9, required=8)]
    short = req("rev", "revenueUsd", False, current=7, required=8, description="Revenue")
    current = {
        "evaluatedAt": TODAY,
        "competencies": [
            {
                "competencyId": "x",
                "achievedLevel": "silver",
                "levels": [
                    {"level": "silver", "paths": [{"pathId": "p", "requirements": [req("s", "revenueUsd", False, current=0, required=1)]}]},
                    {"level": "gold", "paths": [{"pathId": "a", "requirements": [short]}, {"pathId": "b", "requirements": [short]}]},
                ],
            }
        ],
    }
    previous = evaluation(YESTERDAY, competency("x", "gold", [skill(["dee"])], gold_before))
    assert run(previous, current, {"x": "gold"}) == [
        at_risk("x", "gold", "x (gold) is no longer met: performance below threshold: Revenue: 7 of 8.", "performanceBelowThreshold")
    ]


def test_evaluations_with_parts_missing_still_raise_the_alert() -> None:
    previous = {"evaluatedAt": YESTERDAY, "competencies": [{"competencyId": "x", "achievedLevel": "silver"}]}
    bare = {"competencyId": "x", "achievedLevel": "none", "levels": [{"level": "silver", "paths": [{"pathId": "p"}]}]}
    no_contributors = {
        "competencyId": "y",
        "achievedLevel": "none",
        "levels": [{"level": "silver", "paths": [{"pathId": "p", "requirements": [{"requirementId": "r", "met": False}]}]}],
    }
    previous["competencies"].append({"competencyId": "y", "achievedLevel": "silver"})  # type: ignore[attr-defined]
    current = {"evaluatedAt": TODAY, "competencies": [bare, no_contributors]}
    words = "the requirements are no longer met"
    assert run(previous, current, {"x": "silver", "y": "silver"}) == [
        at_risk("x", "silver", f"x (silver) is no longer met: {words}.", "requirementsNotMet"),
        at_risk("y", "silver", f"y (silver) is no longer met: {words}.", "requirementsNotMet"),
    ]
    # A held competency the new evaluation no longer lists, and one without any competencies.
    assert run(previous, {"evaluatedAt": TODAY}, {"x": "silver"}) == [
        at_risk("x", "silver", f"x (silver) is no longer met: {words}.", "requirementsNotMet")
    ]
    assert run(None, {"evaluatedAt": TODAY}, {"x": "silver"}) == [
        at_risk("x", "silver", f"x (silver) is no longer met: {words}.", "requirementsNotMet", episode="first")
    ]


def test_people_who_stopped_counting_come_before_a_performance_shortfall() -> None:
    previous = evaluation(YESTERDAY, competency("x", "silver", [skill(["ada"])], [skill([], met=False)]))
    now = [skill([], met=False), req("rev", "revenueUsd", False, current=1, required=2, description="Revenue")]
    current = evaluation(TODAY, competency("x", "none", now, [skill([], met=False)]))
    assert run(previous, current, {"x": "silver"}) == [
        at_risk("x", "silver", "x (silver) is no longer met: employee left: Ada.", "employeeLeft")
    ]


def test_without_a_known_reason_the_requirements_are_no_longer_met() -> None:
    previous = evaluation(YESTERDAY, competency("x", "silver", [skill(["dee"])], [skill([], met=False)]))
    current = evaluation(TODAY, competency("x", "none", [skill(["dee"], met=False)], [skill([], met=False)]))
    assert run(previous, current, {"x": "silver"}) == [
        at_risk("x", "silver", "x (silver) is no longer met: the requirements are no longer met.", "requirementsNotMet")
    ]


def test_only_people_lost_from_the_held_levels_requirements_count() -> None:
    # Ada leaves gold's requirement only; the held silver is lost through Dee.
    previous = evaluation(YESTERDAY, competency("x", "gold", [skill(["dee"])], [skill(["ada"])]))
    current = evaluation(TODAY, competency("x", "none", [skill([], met=False)], [skill([], met=False)]))
    assert run(previous, current, {"x": "silver"}) == [
        at_risk("x", "silver", "x (silver) is no longer met: achievement expired: Dee.", "achievementExpired")
    ]


def test_a_first_evaluation_that_misses_a_subscribed_level_raises_it_once() -> None:
    current = evaluation(TODAY, competency("x", "silver", [skill(["dee"])], [skill([], met=False)]))
    assert run(None, current, {"x": "gold"}) == [
        at_risk("x", "gold", "x (gold) is no longer met: the requirements are no longer met.", "requirementsNotMet", episode="first")
    ]


@pytest.mark.parametrize(
    ("before", "after", "held", "raised"),
    [
        ("silver", "none", "silver", True),
        ("gold", "none", "silver", True),
        ("gold", "silver", "gold", True),
        ("silver", "silver", "gold", False),  # already not met last time
        ("none", "none", "silver", False),
        ("silver", "silver", "silver", False),
        ("gold", "gold", "silver", False),
    ],
)
def test_at_risk_on_both_sides_of_each_rank(before: str, after: str, held: str, raised: bool) -> None:
    previous = evaluation(YESTERDAY, competency("x", before, [skill([])], [skill([])]))
    current = evaluation(TODAY, competency("x", after, [skill([])], [skill([])]))
    assert [a.type for a in run(previous, current, {"x": held})] == ([TYPE_AT_RISK] if raised else [])


def test_an_episode_is_named_by_the_previous_evaluation() -> None:
    current = evaluation(TODAY, competency("x", "none", [skill([])], [skill([])]))
    one = run(evaluation(YESTERDAY, competency("x", "silver", [skill([])], [skill([])])), current, {"x": "silver"})
    other = run(evaluation("2026-11-20T02:00:00Z", competency("x", "silver", [skill([])], [skill([])])), current, {"x": "silver"})
    assert one[0].id == alert_id("p1", TYPE_AT_RISK, "x", "silver", "notMet", YESTERDAY)
    assert other[0].id == alert_id("p1", TYPE_AT_RISK, "x", "silver", "notMet", "2026-11-20T02:00:00Z")


# --- expiring -----------------------------------------------------------------------------------


def expiring_alert(cid: str, name: str, level: str, user: str, person: str, code: str, on: date) -> Alert:
    return Alert(
        id=alert_id("p1", TYPE_EXPIRING, cid, level, user, code, on.isoformat()),
        type=TYPE_EXPIRING,
        partner_id="p1",
        competency_id=cid,
        level=level,
        title=f"An achievement that {name} ({level}) depends on expires on {on.isoformat()}",
        detail=f"{person}'s {code} expires on {on.isoformat()} (its last day); "
        f"renew it or another qualified person must count before then to keep {level}.",
        cause="achievementExpiring",
        raised_at=AT,
        subject_user_id=user,
        expires_on=on,
    )


def test_expiring_achievements_in_date_then_competency_person_and_code_order_once_each() -> None:
    current = evaluation(
        TODAY,
        competency("a", "gold", [skill(["dee"])], [skill(["dee"])], name="Alpha"),
        competency("b", "silver", [skill(["dee"])], [skill([], met=False)]),
    )
    item = {"competencyId": "a", "level": "gold", "userId": "dee", "code": "Z-1", "expiresOn": "2026-12-01"}
    expiring = [
        {"competencyId": "b", "level": "silver", "userId": "dee", "code": "B-1", "expiresOn": "2026-12-01"},
        item,
        {"competencyId": "a", "level": "gold", "userId": "dee", "code": "A-1", "expiresOn": "2026-12-01"},
        {"competencyId": "a", "level": "gold", "userId": "cy", "code": "Z-1", "expiresOn": "2026-12-01"},
        {"competencyId": "a", "level": "silver", "userId": "zed", "code": "A-1", "expiresOn": "2026-11-30"},
        dict(item),  # the same achievement backing another requirement
    ]
    alerts = run(current, current, {"a": "gold", "b": "silver"}, expiring)
    assert alerts == [
        expiring_alert("a", "Alpha", "silver", "zed", "zed", "A-1", date(2026, 11, 30)),
        expiring_alert("a", "Alpha", "gold", "cy", "Cy", "Z-1", date(2026, 12, 1)),
        expiring_alert("a", "Alpha", "gold", "dee", "Dee", "A-1", date(2026, 12, 1)),
        expiring_alert("a", "Alpha", "gold", "dee", "Dee", "Z-1", date(2026, 12, 1)),
        expiring_alert("b", "b", "silver", "dee", "Dee", "B-1", date(2026, 12, 1)),
    ]


def test_an_expiry_given_as_a_date_reads_as_one_given_as_text() -> None:
    current = evaluation(TODAY, competency("a", "silver", [skill(["dee"])], [skill([], met=False)], name="Alpha"))
    item = {"competencyId": "a", "level": "silver", "userId": "dee", "code": "C", "expiresOn": date(2027, 1, 2)}
    assert run(current, current, {"a": "silver"}, [item]) == [expiring_alert("a", "Alpha", "silver", "dee", "Dee", "C", date(2027, 1, 2))]


# --- attained -----------------------------------------------------------------------------------


def attained(cid: str, name: str, level: str, episode: str = YESTERDAY) -> Alert:
    return Alert(
        id=alert_id("p1", TYPE_ATTAINED, cid, level, episode),
        type=TYPE_ATTAINED,
        partner_id="p1",
        competency_id=cid,
        level=level,
        title=f"{name}: {level} level attained",
        detail=f"The organisation now meets the {level} requirements of {name}; it is eligible to buy the {level} benefit pack.",
        cause="levelAttained",
        raised_at=AT,
    )


def test_a_level_is_attained_when_above_both_last_time_and_what_is_held() -> None:
    def c(cid: str, level: str) -> dict[str, Any]:
        return competency(cid, level, [skill([])], [skill([])], name=cid.upper())

    previous = evaluation(YESTERDAY, c("a", "silver"), c("b", "none"), c("c", "none"), c("d", "silver"), c("e", "gold"), c("f", "none"))
    current = evaluation(TODAY, c("a", "gold"), c("b", "silver"), c("c", "silver"), c("d", "silver"), c("e", "gold"), c("f", "gold"))
    held = {"a": "silver", "c": "silver", "f": "gold", "b": "none"}
    # a: silver → gold; b: none → silver; c: already subscribed at silver; d, e: unchanged; f: subscribed at gold.
    assert run(previous, current, held) == [attained("a", "A", "gold"), attained("b", "B", "silver")]


def test_a_first_evaluation_attains_every_achieved_level_and_the_name_falls_back_to_the_id() -> None:
    current = evaluation(TODAY, competency("a", "gold", [skill([])], [skill([])]), competency("b", "none", [skill([])], [skill([])]))
    assert run(None, current, {}) == [attained("a", "a", "gold", episode="first")]


def test_at_risk_expiring_and_attained_come_in_that_order() -> None:
    previous = evaluation(
        YESTERDAY, competency("z", "silver", [skill(["ada"])], [skill([])]), competency("a", "none", [skill([])], [skill([])])
    )
    current = evaluation(TODAY, competency("z", "none", [skill([])], [skill([])]), competency("a", "silver", [skill([])], [skill([])]))
    expiring = [{"competencyId": "z", "level": "silver", "userId": "dee", "code": "C", "expiresOn": "2026-12-01"}]
    assert [a.type for a in run(previous, current, {"z": "silver"}, expiring)] == [TYPE_AT_RISK, TYPE_EXPIRING, TYPE_ATTAINED]


# --- a held level that will lapse before the renewal -------------------------------------------------


def lapsing(
    current: dict[str, Any],
    risks: list[RenewalRisk],
    expiring: Sequence[dict[str, Any]] = (),
    previous_risks: Sequence[RenewalRisk] = (),
) -> list[Alert]:
    alerts = raise_alerts(
        partner_id="p1",
        previous=None,
        current=facts(current, expiring),
        held={},
        people=PEOPLE,
        raised_at=AT,
        risks=risks,
        previous_risks=list(previous_risks),
    )
    return [a for a in alerts if a.type == TYPE_AT_RISK]


def lapsing_alert(cid: str, name: str, level: str, last: date | None, words: str, cause: str) -> Alert:
    return Alert(
        id=alert_id("p1", TYPE_AT_RISK, cid, level, "lapsing", "first"),
        type=TYPE_AT_RISK,
        partner_id="p1",
        competency_id=cid,
        level=level,
        title=RENEWAL_AT_RISK_TITLE,
        detail=f"{name} ({level}) stops being met after {last.isoformat() if last else 'soon'}, before the membership renewal: {words}.",
        cause=cause,
        raised_at=AT,
        expires_on=last,
    )


LAST = date(2026, 12, 20)


def test_a_lapsing_level_names_the_achievements_it_depends_on_in_date_order() -> None:
    current = evaluation(TODAY, competency("x", "silver", [skill(["dee", "cy"])], [skill([], met=False)], name="Ex"))
    expiring = [
        {"competencyId": "x", "level": "silver", "userId": "dee", "code": "B", "expiresOn": "2026-12-20"},
        {"competencyId": "x", "level": "silver", "userId": "cy", "code": "OLD", "expiresOn": "2026-12-10", "acceptedUntil": "2026-12-10"},
        {"competencyId": "other", "level": "silver", "userId": "eve", "code": "Z", "expiresOn": "2026-12-01"},
    ]
    assert lapsing(current, [RenewalRisk("x", "silver", "lapsing", LAST)], expiring) == [
        lapsing_alert(
            "x", "Ex", "silver", LAST, "Cy's OLD is accepted until 2026-12-10, Dee's B expires on 2026-12-20", "achievementExpiring"
        )
    ]


def test_a_level_that_lapses_with_retired_exams_only_says_so() -> None:
    current = evaluation(TODAY, competency("x", "silver", [skill(["cy"])], [skill([], met=False)]))
    expiring = [
        {"competencyId": "x", "level": "silver", "userId": "cy", "code": "OLD", "expiresOn": "2026-12-10", "acceptedUntil": "2026-12-10"},
        {"competencyId": "x", "level": "silver", "userId": "zed", "code": "OLD", "expiresOn": "2026-12-10", "acceptedUntil": "2026-12-10"},
    ]
    words = "Cy's OLD is accepted until 2026-12-10, zed's OLD is accepted until 2026-12-10"  # zed: unknown, the id
    assert lapsing(current, [RenewalRisk("x", "silver", "lapsing", LAST)], expiring) == [
        lapsing_alert("x", "x", "silver", LAST, words, "examRetiring")
    ]


def test_a_level_that_lapses_with_its_figures_names_the_levels_figure() -> None:
    silver = [req("s-rev", "revenueUsd", True, current=5, required=1, description="Silver revenue", expiresOn="2026-12-01")]
    gold = [
        skill(["dee"]),
        req("g-ok", "revenueUsd", True, current=5, required=1),  # no end foreseen
        req("g-seats", "deployedSeats", True, current=12, required=10, expiresOn="2026-12-15"),
    ]
    current = evaluation(TODAY, competency("x", "gold", silver, gold))
    assert lapsing(current, [RenewalRisk("x", "gold", "lapsing", LAST)]) == [
        lapsing_alert("x", "x", "gold", LAST, "deployedSeats falls below 10 after 2026-12-15", "performanceLeavingPeriod")
    ]
    named = [req("rev", "activeUsage", True, current=5, required=1, description="Revenue", expiresOn="2026-12-01")]
    assert lapsing(evaluation(TODAY, competency("x", "silver", named, [])), [RenewalRisk("x", "silver", "lapsing", LAST)])[0].detail == (
        "x (silver) stops being met after 2026-12-20, before the membership renewal: Revenue falls below 1 after 2026-12-01."
    )


def test_without_a_known_reason_the_requirements_stop_being_met_soon() -> None:
    current = evaluation(TODAY, competency("x", "silver", [skill(["dee"])], [skill([], met=False)]))
    assert lapsing(current, [RenewalRisk("x", "silver", "lapsing")]) == [
        lapsing_alert("x", "x", "silver", None, "the requirements stop being met", "requirementsLapsing")
    ]


def test_a_lapsing_risk_is_raised_once_per_episode_and_apart_from_not_met() -> None:
    current = evaluation(TODAY, competency("x", "silver", [skill(["dee"])], [skill([], met=False)]))
    risk = RenewalRisk("x", "silver", "lapsing", LAST)
    assert lapsing(current, [risk], previous_risks=[RenewalRisk("x", "silver", "lapsing", date(2026, 12, 1))]) == []
    assert len(lapsing(current, [risk], previous_risks=[RenewalRisk("x", "silver", "notMet")])) == 1
    assert len(lapsing(current, [risk], previous_risks=[RenewalRisk("x", "gold", "lapsing", LAST)])) == 1
    assert len(lapsing(current, [risk], previous_risks=[RenewalRisk("y", "silver", "lapsing", LAST)])) == 1


def test_a_renewal_reminder_says_when_the_window_opens_or_opened_and_when_it_closes() -> None:
    from shared.domain.alert_rules import TYPE_REMINDER
    from shared.domain.membership import Reminder

    anniversary, closes = date(2027, 1, 10), date(2027, 2, 9)
    current = evaluation(TODAY)
    before, after = Reminder("gold", anniversary, closes, -15), Reminder("gold", anniversary, closes, 23)
    alerts = raise_alerts(
        partner_id="p1", previous=None, current=facts(current), held={}, people=PEOPLE, raised_at=AT, reminders=[before, after]
    )
    window = (
        "The gold benefit pack's renewal window runs from 2027-01-10 to 2027-02-09; renew within it to keep the level and its benefits."
    )
    assert alerts == [
        Alert(
            id=alert_id("p1", TYPE_REMINDER, "2027-01-10", "-15"),
            type=TYPE_REMINDER,
            partner_id="p1",
            competency_id="",
            level="gold",
            title="Renew your gold membership: the renewal opens on 2027-01-10",
            detail=window,
            cause="renewalReminder",
            raised_at=AT,
            expires_on=closes,
        ),
        Alert(
            id=alert_id("p1", TYPE_REMINDER, "2027-01-10", "23"),
            type=TYPE_REMINDER,
            partner_id="p1",
            competency_id="",
            level="gold",
            title="Renew your gold membership: the renewal opened on 2027-01-10",
            detail=window,
            cause="renewalReminder",
            raised_at=AT,
            expires_on=closes,
        ),
    ]
