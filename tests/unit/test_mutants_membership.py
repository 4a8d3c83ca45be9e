"""Membership, the edges the other tests leave open: each status on both sides of its
boundary, every kind of purchase with all of its dates, every field of the membership view."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from shared.domain import membership as m
from shared.domain.evaluation import EvaluationFacts

ANNIVERSARY = date(2026, 6, 1)
SILVER = m.Subscription("silver", date(2025, 6, 1), ANNIVERSARY)
GOLD = m.Subscription("gold", date(2025, 6, 1), ANNIVERSARY)


def competency(cid: str, level: str, *, at_risk: bool = False, next_level: dict[str, str] | None = None) -> dict[str, Any]:
    return {"competencyId": cid, "name": cid.title(), "achievedLevel": level, "atRisk": at_risk, "nextLevel": next_level}


def evaluation(*competencies: dict[str, Any]) -> EvaluationFacts:
    return EvaluationFacts.from_api({"competencies": list(competencies)})


BOTH = evaluation(competency("a", "gold"), competency("b", "silver"), competency("c", "none"))


@pytest.mark.parametrize(
    ("on", "status", "level"),
    [
        (ANNIVERSARY - timedelta(days=1), "active", "silver"),
        (ANNIVERSARY, "renewalOpen", "silver"),
        (ANNIVERSARY + timedelta(days=29), "renewalOpen", "silver"),
        (ANNIVERSARY + timedelta(days=30), "lapsed", "none"),
        (ANNIVERSARY + timedelta(days=400), "lapsed", "none"),
    ],
)
def test_status_and_displayed_level_on_both_sides_of_each_boundary(on: date, status: str, level: str) -> None:
    assert m.status(SILVER, on) == status
    assert m.displayed_level(SILVER, on) == level


def test_no_subscription_has_status_none_and_shows_no_level() -> None:
    assert m.status(None, ANNIVERSARY) == "none"
    assert m.displayed_level(None, ANNIVERSARY) == "none"


def test_eligibility_is_every_level_up_to_the_best_achieved() -> None:
    assert m.eligible_levels(None) == []
    assert m.eligible_levels(EvaluationFacts.from_api({})) == []
    assert m.eligible_levels(evaluation(competency("a", "gold"))) == ["silver", "gold"]
    assert m.eligible_levels(evaluation(competency("a", "silver"), competency("b", "none"))) == ["silver"]
    assert m.eligible_levels(evaluation(competency("a", "none"))) == []


def test_the_business_profile_shows_achieved_competencies_by_the_subscribed_level() -> None:
    assert m.business_profile("none", BOTH) == []
    assert m.business_profile("silver", BOTH) == [{"competencyId": "a", "level": "silver"}, {"competencyId": "b", "level": "silver"}]
    assert m.business_profile("gold", BOTH) == [{"competencyId": "a", "level": "gold"}, {"competencyId": "b", "level": "silver"}]
    assert m.business_profile("gold", None) == []
    # A competency achieving nothing, sorted first, does not hide the ones after it.
    first_none = evaluation(competency("a", "none"), competency("b", "gold"))
    assert m.business_profile("silver", first_none) == [{"competencyId": "b", "level": "silver"}]


# --- buying -------------------------------------------------------------------------------------


def test_a_first_purchase_starts_a_year_from_today() -> None:
    on = date(2026, 3, 10)
    assert m.buy("silver", None, BOTH, on) == m.Purchase(m.Subscription("silver", on, date(2027, 3, 10)), "purchase", 0)


def test_a_purchase_after_the_renewal_window_starts_from_today_not_the_old_anniversary() -> None:
    on = ANNIVERSARY + timedelta(days=30)
    assert m.buy("silver", SILVER, BOTH, on) == m.Purchase(m.Subscription("silver", on, on + timedelta(days=365)), "purchase", 0)


@pytest.mark.parametrize("days", [0, 29])
def test_a_renewal_in_the_window_starts_the_new_year_on_the_old_anniversary(days: int) -> None:
    on = ANNIVERSARY + timedelta(days=days)
    assert m.buy("silver", SILVER, BOTH, on) == m.Purchase(m.Subscription("silver", ANNIVERSARY, date(2027, 6, 1)), "renewal", 0)
    assert m.buy("gold", SILVER, BOTH, on) == m.Purchase(m.Subscription("gold", ANNIVERSARY, date(2027, 6, 1)), "renewal", 0)


def test_an_upgrade_during_the_year_starts_a_new_year_from_the_upgrade_at_a_discount() -> None:
    on = ANNIVERSARY - timedelta(days=1)
    assert m.buy("gold", SILVER, BOTH, on) == m.Purchase(m.Subscription("gold", on, date(2027, 5, 31)), "upgrade", 25)


def test_buying_the_active_level_again_the_same_day_is_a_repeat_and_changes_nothing() -> None:
    current = m.Subscription("silver", date(2026, 1, 5), date(2027, 1, 5))
    assert m.buy("silver", current, BOTH, date(2026, 1, 5)) == m.Purchase(current, "repeat", 0)


def test_buying_the_active_level_on_another_day_is_refused_until_the_anniversary() -> None:
    with pytest.raises(m.NotEligible) as caught:
        m.buy("silver", SILVER, BOTH, ANNIVERSARY - timedelta(days=1))
    assert caught.value.detail == "The silver benefit pack is active until 2026-06-01; renewal opens on that day."
    assert caught.value.gap is None


def test_an_active_gold_pack_cannot_be_downgraded() -> None:
    with pytest.raises(m.NotEligible) as caught:
        m.buy("silver", GOLD, BOTH, ANNIVERSARY - timedelta(days=1))
    assert caught.value.detail == "The gold benefit pack is active until 2026-06-01; it cannot be downgraded."


def test_buying_before_any_evaluation_is_refused() -> None:
    with pytest.raises(m.NotEligible) as caught:
        m.buy("silver", None, None, ANNIVERSARY)
    assert caught.value.detail == "The organisation has not been evaluated yet; the nightly evaluation runs at 02:00 UTC."
    assert str(caught.value) == caught.value.detail


def test_buying_an_unmet_level_names_the_smallest_gap() -> None:
    e = evaluation(
        competency("a", "silver", next_level={"level": "gold", "gap": "3 more individuals who passed x"}),
        competency("b", "silver", next_level={"level": "gold", "gap": "1 more individual"}),
        competency("c", "none", next_level={"level": "silver", "gap": "1"}),
        competency("d", "silver", next_level={"level": "gold", "gap": ""}),
        competency("e", "silver"),
    )
    with pytest.raises(m.NotEligible) as caught:
        m.buy("gold", None, e, ANNIVERSARY)
    assert caught.value.gap == "B: 1 more individual"
    assert caught.value.detail == "The organisation does not meet any competency at gold. Closest: B: 1 more individual."


def test_an_unmet_level_without_a_stated_gap_says_only_that() -> None:
    e = evaluation({"competencyId": "x", "achievedLevel": "none", "nextLevel": {"level": "silver", "gap": "2 more"}})
    with pytest.raises(m.NotEligible) as caught:
        m.buy("gold", None, e, ANNIVERSARY)
    assert caught.value.detail == "The organisation does not meet any competency at gold."
    assert caught.value.gap is None
    with pytest.raises(m.NotEligible) as caught:
        m.buy("silver", None, e, ANNIVERSARY)
    assert caught.value.gap == "x: 2 more"  # no name: the id


# --- renewal at risk and the view ---------------------------------------------------------------


def test_renewal_at_risk_only_for_a_displayed_subscription() -> None:
    unmet = evaluation(competency("a", "none"))
    assert m.renewal_at_risk(None, unmet, ANNIVERSARY, 60) is False
    assert m.renewal_at_risk(SILVER, unmet, ANNIVERSARY + timedelta(days=30), 60) is False  # lapsed
    assert m.renewal_at_risk(SILVER, unmet, ANNIVERSARY + timedelta(days=29), 60) is True


def test_without_recorded_competencies_renewal_is_at_risk_when_the_level_is_met_nowhere() -> None:
    on = ANNIVERSARY - timedelta(days=10)
    assert m.renewal_at_risk(GOLD, evaluation(competency("a", "silver")), on, 60) is True
    assert m.renewal_at_risk(GOLD, evaluation(competency("a", "gold")), on, 60) is False
    assert m.renewal_at_risk(SILVER, None, on, 60) is True
    assert m.renewal_at_risk(SILVER, evaluation(competency("a", "silver")), on, 60) is False


def test_the_membership_view_fills_every_field() -> None:
    on = ANNIVERSARY + timedelta(days=3)
    assert m.membership_view("p1", GOLD, BOTH, on, 60) == {
        "partnerId": "p1",
        "level": "gold",
        "status": "renewalOpen",
        "purchasedOn": "2025-06-01",
        "expiresOn": "2026-06-01",
        "renewalClosesOn": "2026-07-01",
        "eligibleLevels": ["silver", "gold"],
        "renewalAtRisk": False,
        "renewalRisks": [],
        "businessProfile": [{"competencyId": "a", "level": "gold"}, {"competencyId": "b", "level": "silver"}],
    }


def test_the_membership_view_without_a_subscription() -> None:
    assert m.membership_view("p2", None, None, ANNIVERSARY, 60) == {
        "partnerId": "p2",
        "level": "none",
        "status": "none",
        "purchasedOn": None,
        "expiresOn": None,
        "renewalClosesOn": None,
        "eligibleLevels": [],
        "renewalAtRisk": False,
        "renewalRisks": [],
        "businessProfile": [],
    }


def test_a_renewal_risk_in_the_api_names_its_last_day_when_foreseen() -> None:
    assert m.RenewalRisk("a", "gold", "lapsing", date(2026, 5, 1)).to_api() == {
        "competencyId": "a",
        "level": "gold",
        "state": "lapsing",
        "lastDay": "2026-05-01",
    }
    assert m.RenewalRisk("a", "silver", "notMet").to_api() == {"competencyId": "a", "level": "silver", "state": "notMet"}


def test_the_view_reads_renewal_risks_from_todays_evaluation() -> None:
    bought = m.Subscription("silver", date(2025, 6, 1), ANNIVERSARY, {"a": "silver"})
    on = ANNIVERSARY - timedelta(days=100)
    assert m.membership_view("p1", bought, BOTH, on, 60)["renewalRisks"] == []
    assert m.membership_view("p1", bought, evaluation(competency("a", "none")), on, 60)["renewalRisks"] == [
        {"competencyId": "a", "level": "silver", "state": "notMet"}
    ]


def test_reminders_fall_15_days_before_and_23_days_after_the_anniversary() -> None:
    assert m.reminder_days(SILVER) == [date(2026, 5, 17), date(2026, 6, 24)]
    assert m.reminder_days(None) == []
