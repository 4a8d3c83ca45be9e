"""Membership over the year (issue 13): the profile keeps what the subscription was bought
for, renewal risks are one rule for GET membership and the at-risk alert, and renewal
reminders fall on the days the program gives."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from shared.domain import membership as m
from shared.domain.alert_rules import TYPE_AT_RISK, TYPE_REMINDER, raise_alerts
from shared.domain.evaluation import EvaluationFacts
from tests.unit.facts import facts

ON = date(2026, 11, 25)
AT = datetime(2026, 11, 25, 2, tzinfo=UTC)
SUB = m.Subscription("silver", ON - timedelta(days=100), ON + timedelta(days=265), {"cloud-platform": "silver"})


def evaluation(met: bool, last_day: date | None = None, competency: str = "cloud-platform") -> EvaluationFacts:
    silver: dict[str, Any] = {"level": "silver", "met": met, "override": False, "paths": []}
    if last_day is not None:
        silver["expiresOn"] = last_day.isoformat()
    return facts(
        {
            "evaluatedAt": "2026-11-25T02:00:00Z",
            "competencies": [
                {
                    "competencyId": competency,
                    "name": competency,
                    "achievedLevel": "silver" if met else "none",
                    "levels": [silver, {"level": "gold", "met": False, "override": False, "paths": []}],
                }
            ],
        }
    )


# --- 3. status through the year -----------------------------------------------------------------


def test_the_profile_keeps_what_the_subscription_was_bought_for_until_it_ends() -> None:
    after_departure = evaluation(False)
    view = m.membership_view("p", SUB, after_departure, ON, 60)
    assert view["level"] == "silver" and view["businessProfile"] == [{"competencyId": "cloud-platform", "level": "silver"}]
    assert view["renewalAtRisk"] is True  # what today's evaluation says
    last_window_day = SUB.expires_on + m.RENEWAL_WINDOW - timedelta(days=1)
    assert m.membership_view("p", SUB, after_departure, last_window_day, 60)["businessProfile"] != []
    ended = m.membership_view("p", SUB, after_departure, last_window_day + timedelta(days=1), 60)
    assert ended["level"] == "none" and ended["businessProfile"] == [] and ended["renewalAtRisk"] is False


def test_a_competency_achieved_during_the_year_joins_the_profile() -> None:
    both = evaluation(True, competency="datacenter")
    profile = m.membership_view("p", SUB, both, ON, 60)["businessProfile"]
    assert profile == [{"competencyId": "cloud-platform", "level": "silver"}, {"competencyId": "datacenter", "level": "silver"}]


# --- 5. renewal at risk, when the change happens ------------------------------------------------


def test_a_level_that_lapses_before_the_renewal_within_the_window_is_at_risk() -> None:
    risks = m.renewal_risks(SUB, evaluation(True, ON + timedelta(days=30)), ON, 60)
    assert [r.to_api() for r in risks] == [
        {"competencyId": "cloud-platform", "level": "silver", "state": "lapsing", "lastDay": (ON + timedelta(days=30)).isoformat()}
    ]
    assert m.renewal_risks(SUB, evaluation(True, ON + timedelta(days=90)), ON, 60) == []  # not yet in the window
    assert m.renewal_risks(SUB, evaluation(True, SUB.expires_on + timedelta(days=1)), SUB.expires_on - timedelta(days=10), 60) == []


def test_no_subscription_no_renewal_risk() -> None:
    assert m.renewal_risks(None, evaluation(False), ON, 60) == []
    alerts = raise_alerts(
        partner_id="p", previous=None, current=evaluation(False), held={"cloud-platform": "silver"}, people={}, raised_at=AT
    )
    assert [a for a in alerts if a.type == TYPE_AT_RISK] == []


def test_the_at_risk_alert_is_raised_once_per_episode() -> None:
    lapsing = evaluation(True, ON + timedelta(days=30))
    now = m.renewal_risks(SUB, lapsing, ON, 60)

    def at_risk(previous_risks: list[m.RenewalRisk], risks: list[m.RenewalRisk]) -> list[str]:
        alerts = raise_alerts(
            partner_id="p",
            previous=lapsing,
            current=lapsing,
            held={},
            people={},
            raised_at=AT,
            risks=risks,
            previous_risks=previous_risks,
        )
        return [a.detail for a in alerts if a.type == TYPE_AT_RISK]

    assert len(at_risk([], now)) == 1
    assert at_risk(now, now) == []  # the next night: the same episode
    lost = m.renewal_risks(SUB, evaluation(False), ON, 60)
    assert len(at_risk(now, lost)) == 1  # no longer met: a new change


# --- 11. one answer -------------------------------------------------------------------------------


@given(
    st.booleans(),
    st.one_of(st.none(), st.integers(min_value=0, max_value=400)),
    st.integers(min_value=-120, max_value=300),
    st.integers(min_value=1, max_value=120),
)
def test_get_membership_and_the_at_risk_alert_never_contradict(met: bool, lapse_in: int | None, day: int, window: int) -> None:
    on = ON + timedelta(days=day)
    current = evaluation(met, on + timedelta(days=lapse_in) if (met and lapse_in is not None) else None)
    view = m.membership_view("p", SUB, current, on, window)
    alerts = raise_alerts(
        partner_id="p",
        previous=None,
        current=current,
        held=dict(SUB.competencies),
        people={},
        raised_at=AT,
        risks=m.renewal_risks(SUB, current, on, window),
        previous_risks=[],
    )
    raised = {(a.competency_id, a.level) for a in alerts if a.type == TYPE_AT_RISK}
    assert view["renewalAtRisk"] == bool(raised)
    assert raised == {(r["competencyId"], r["level"]) for r in view["renewalRisks"]}


# --- 14. renewal reminders ----------------------------------------------------------------------


def test_reminders_fall_15_days_before_and_23_days_after_the_anniversary() -> None:
    anniversary = SUB.expires_on
    due = {d: [r.days_from_anniversary for r in m.due_reminders(SUB, d)] for d in (anniversary + timedelta(days=k) for k in range(-20, 35))}
    assert due[anniversary - timedelta(days=16)] == [] and due[anniversary - timedelta(days=15)] == [-15]
    assert due[anniversary + timedelta(days=22)] == [] and due[anniversary + timedelta(days=23)] == [23]
    assert m.due_reminders(None, anniversary) == []
    renewed = m.Subscription("silver", anniversary, anniversary + timedelta(days=365), SUB.competencies)
    assert m.due_reminders(renewed, anniversary + timedelta(days=23)) == []  # renewed: no reminder
    alerts = raise_alerts(
        partner_id="p",
        previous=None,
        current=evaluation(True),
        held={},
        people={},
        raised_at=AT,
        reminders=m.due_reminders(SUB, anniversary - timedelta(days=15)),
    )
    [reminder] = [a for a in alerts if a.type == TYPE_REMINDER]
    assert anniversary.isoformat() in reminder.title and reminder.level == "silver"
    again = raise_alerts(
        partner_id="p",
        previous=None,
        current=evaluation(True),
        held={},
        people={},
        raised_at=AT,
        reminders=m.due_reminders(SUB, anniversary - timedelta(days=13)),
    )
    assert [a.id for a in again if a.type == TYPE_REMINDER] == [reminder.id]  # the same reminder: one id
