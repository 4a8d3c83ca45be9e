"""The alert rules over two evaluations (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from shared.domain.alert_rules import (
    RENEWAL_AT_RISK_TITLE,
    TYPE_AT_RISK,
    TYPE_ATTAINED,
    TYPE_EXPIRING,
    PersonFacts,
    raise_alerts,
)
from shared.domain.membership import Subscription, renewal_risks
from tests.unit.facts import facts, maybe_facts

AT = datetime(2026, 11, 25, 2, tzinfo=UTC)
ON = AT.date()


def evaluation(level: str, contributors: list[str], *, at: str = "2026-11-24T02:00:00Z") -> dict:
    met = level in ("silver", "gold")
    return {
        "evaluatedAt": at,
        "competencies": [
            {
                "competencyId": "cloud-platform",
                "name": "Cloud Platform",
                "achievedLevel": level,
                "levels": [
                    {
                        "level": "silver",
                        "met": met,
                        "paths": [
                            {
                                "pathId": "p1",
                                "met": met,
                                "requirements": [
                                    {
                                        "requirementId": "r1",
                                        "kind": "certifiedIndividuals",
                                        "required": 1,
                                        "current": len(contributors),
                                        "met": met,
                                        "contributors": contributors,
                                    }
                                ],
                            }
                        ],
                    }
                ],
            }
        ],
    }


PEOPLE = {
    "u1": PersonFacts("u1", "Ada", departed=True),
    "u2": PersonFacts("u2", "Bob", msa_moved_to_other_organisation=True, msa_unlinked=True),
    "u3": PersonFacts("u3", "Cy"),
}


def run(previous, current, held, people=PEOPLE, expiring=()):
    """``held``: the competencies a subscription was bought for; the risks come from the one
    rule GET membership answers with."""
    sub = Subscription("gold", ON - timedelta(days=100), ON + timedelta(days=265), held)
    before, now = maybe_facts(previous), facts(current, expiring)
    return raise_alerts(
        partner_id="p1",
        previous=before,
        current=now,
        held=held,
        people=people,
        raised_at=AT,
        risks=renewal_risks(sub, now, ON, 60),
        previous_risks=renewal_risks(sub, before, ON, 60) if before else [],
    )


def test_an_employee_leaving_puts_the_held_level_at_risk_with_the_exact_title() -> None:
    alerts = run(evaluation("silver", ["u1"]), evaluation("none", [], at="2026-11-25T02:00:00Z"), {"cloud-platform": "silver"})
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.type == TYPE_AT_RISK
    assert alert.title == RENEWAL_AT_RISK_TITLE
    assert (alert.competency_id, alert.level, alert.cause) == ("cloud-platform", "silver", "employeeLeft")
    assert "Ada" in alert.detail and "Cloud Platform" in alert.detail


def test_the_cause_names_an_msa_that_moved_or_an_expired_achievement() -> None:
    moved = run(evaluation("silver", ["u2"]), evaluation("none", []), {"cloud-platform": "silver"})
    assert moved[0].cause == "msaMoved"
    expired = run(evaluation("silver", ["u3"]), evaluation("none", []), {"cloud-platform": "silver"})
    assert expired[0].cause == "achievementExpired"


def test_the_same_change_evaluated_twice_gives_the_same_alert_id() -> None:
    first = run(evaluation("silver", ["u1"]), evaluation("none", []), {"cloud-platform": "silver"})
    again = run(evaluation("silver", ["u1"]), evaluation("none", [], at="2026-11-25T03:00:00Z"), {"cloud-platform": "silver"})
    assert [a.id for a in first] == [a.id for a in again]


def test_still_met_raises_nothing_and_attaining_raises_a_notice() -> None:
    assert run(evaluation("silver", ["u3"]), evaluation("silver", ["u3"]), {"cloud-platform": "silver"}) == []
    attained = run(evaluation("none", []), evaluation("silver", ["u3"]), {})
    assert [a.type for a in attained] == [TYPE_ATTAINED]


def test_expiring_achievements_name_the_person_and_the_date() -> None:
    expiring = [{"competencyId": "cloud-platform", "level": "silver", "userId": "u3", "code": "70-533", "expiresOn": "2026-12-20"}]
    alerts = run(evaluation("silver", ["u3"]), evaluation("silver", ["u3"]), {"cloud-platform": "silver"}, expiring=expiring)
    assert [a.type for a in alerts] == [TYPE_EXPIRING]
    assert alerts[0].expires_on == date(2026, 12, 20)
    assert "Cy" in alerts[0].detail and "2026-12-20" in alerts[0].detail
    assert "expires on 2026-12-20" in alerts[0].title


def test_an_expiring_achievement_is_announced_once_and_again_when_its_date_changes() -> None:
    """The previous evaluation's expiring list was announced: the next night adds nothing, and
    an achievement renewed to a new last day that is again within the window is new."""
    item = {"competencyId": "cloud-platform", "level": "silver", "userId": "u3", "code": "70-533", "expiresOn": "2026-12-20"}
    previous = evaluation("silver", ["u3"])
    previous["competencies"][0]["expiring"] = [item]
    assert run(previous, evaluation("silver", ["u3"]), {"cloud-platform": "silver"}, expiring=[item]) == []
    moved = {**item, "expiresOn": "2027-01-10"}
    alerts = run(previous, evaluation("silver", ["u3"]), {"cloud-platform": "silver"}, expiring=[moved])
    assert [(a.type, a.expires_on) for a in alerts] == [(TYPE_EXPIRING, date(2027, 1, 10))]


def test_a_retired_exam_is_accepted_until_not_expiring() -> None:
    item = {"competencyId": "cloud-platform", "level": "silver", "userId": "u3", "code": "70-534", "expiresOn": "2018-12-31"}
    item["acceptedUntil"] = "2018-12-31"
    alerts = run(evaluation("silver", ["u3"]), evaluation("silver", ["u3"]), {"cloud-platform": "silver"}, expiring=[item])
    assert "accepted until 2018-12-31" in alerts[0].title and "accepted until 2018-12-31" in alerts[0].detail
    assert "expires" not in alerts[0].title + alerts[0].detail


@given(
    st.sampled_from(["none", "silver", "gold"]), st.sampled_from(["none", "silver", "gold"]), st.sampled_from(["none", "silver", "gold"])
)
def test_at_risk_exactly_when_a_held_level_is_not_met(before: str, after: str, held: str) -> None:
    rank = {"none": 0, "silver": 1, "gold": 2}
    held_map = {} if held == "none" else {"cloud-platform": held}
    alerts = run(evaluation(before, []), evaluation(after, []), held_map)
    at_risk = [a for a in alerts if a.type == TYPE_AT_RISK]
    # Raised on the change: the held level was met last time and is not met now.
    assert bool(at_risk) == (held != "none" and rank[after] < rank[held] <= rank[before])
    assert len({a.id for a in alerts}) == len(alerts)
