"""Membership: a benefit pack is bought only when eligible, lasts a year, renews on its
anniversary when the requirements are met again, warns when its renewal is at risk, and
lapses after the renewal window."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.bootstrap import alert_service
from shared.documents import SubscriptionDoc, partner_pk
from shared.errors import Conflict
from shared.services.membership import MembershipIn
from tests.unit.services.conftest import TODAY, Suite

AT_RISK_TITLE = "A recent change to your competency achievement has put your membership renewal eligibility at risk"


def silver_partner(suite: Suite, *, people: int = 1, revenue: float = 20_000, expires: str | None = None) -> dict[str, Any]:
    """A partner meeting Cloud Platform silver (and gold with 2 people and 100,000 USD)."""
    partner = suite.partner("p1")
    for n in range(people):
        linked = suite.link(partner, f"u{n}", f"person{n}@outlook.example")
        suite.achievement(linked.msa_id, expires=expires)
    suite.revenue("p1", revenue)
    return partner


def buy(suite: Suite, level: str) -> dict[str, Any]:
    return suite.membership.buy("p1", MembershipIn(level=level), actor="admin@p1.example")  # type: ignore[arg-type]


def test_a_partner_that_meets_no_level_cannot_buy_and_is_told_the_gap(suite: Suite) -> None:
    partner = suite.partner("p1")
    suite.link(partner, "u0", "person0@outlook.example")  # linked, but no exam and no revenue
    with pytest.raises(Conflict) as refused:
        buy(suite, "silver")
    assert "does not meet any competency at silver" in refused.value.detail
    assert refused.value.extra.get("gap"), "the problem names the closest gap"
    assert suite.store.read(partner_pk("p1"), SubscriptionDoc.DOC_ID) is None, "nothing is bought"
    assert suite.membership.view("p1")["level"] == "none"


def test_buying_silver_when_eligible_lasts_a_year_and_shows_the_competency(suite: Suite) -> None:
    silver_partner(suite)
    bought = buy(suite, "silver")
    assert bought["level"] == "silver" and bought["status"] == "active"
    assert bought["purchase"] == {"kind": "purchase", "discountPercent": 0}
    assert (bought["purchasedOn"], bought["expiresOn"]) == (TODAY.isoformat(), (TODAY + timedelta(days=365)).isoformat())
    assert bought["businessProfile"] == [{"competencyId": "cloud-platform", "level": "silver"}]
    assert bought["renewalAtRisk"] is False


def test_gold_needs_a_gold_path_met(suite: Suite) -> None:
    silver_partner(suite)  # one person, 20,000 USD: silver only
    with pytest.raises(Conflict):
        buy(suite, "gold")
    assert suite.membership.view("p1")["eligibleLevels"] == ["silver"]


def test_gold_shows_each_competency_at_its_level_and_silver_shows_them_all_as_silver(suite: Suite) -> None:
    # Two people with an Azure exam: Cloud Platform gold (with the revenue), Application Development silver.
    silver_partner(suite, people=2, revenue=150_000)
    assert suite.membership.view("p1")["eligibleLevels"] == []  # not evaluated yet: buying evaluates today
    bought = buy(suite, "gold")
    assert bought["level"] == "gold" and bought["eligibleLevels"] == ["silver", "gold"]
    assert bought["businessProfile"] == [
        {"competencyId": "application-development", "level": "silver"},
        {"competencyId": "cloud-platform", "level": "gold"},
    ]


def test_silver_shows_every_achieved_competency_as_silver(suite: Suite) -> None:
    silver_partner(suite, people=2, revenue=150_000)
    bought = buy(suite, "silver")
    assert bought["businessProfile"] == [
        {"competencyId": "application-development", "level": "silver"},
        {"competencyId": "cloud-platform", "level": "silver"},
    ]


def test_a_retried_purchase_the_same_day_buys_nothing_new(suite: Suite) -> None:
    silver_partner(suite)
    first = buy(suite, "silver")
    again = buy(suite, "silver")
    assert again["purchase"]["kind"] == "repeat"
    assert (again["purchasedOn"], again["expiresOn"]) == (first["purchasedOn"], first["expiresOn"])
    stored = suite.store.read(partner_pk("p1"), SubscriptionDoc.DOC_ID)
    assert stored is not None and len(stored.body["history"]) == 1


def test_an_active_pack_is_not_bought_again_nor_downgraded_but_upgraded_at_a_discount(suite: Suite) -> None:
    silver_partner(suite, people=2, revenue=150_000)
    buy(suite, "silver")
    suite.clock.advance(days=100)
    with pytest.raises(Conflict) as early:
        buy(suite, "silver")
    assert "renewal opens on" in early.value.detail
    upgraded = buy(suite, "gold")
    assert upgraded["purchase"] == {"kind": "upgrade", "discountPercent": 25}
    today = suite.clock().date()
    assert (upgraded["purchasedOn"], upgraded["expiresOn"]) == (today.isoformat(), (today + timedelta(days=365)).isoformat())
    with pytest.raises(Conflict) as down:
        buy(suite, "silver")
    assert "cannot be downgraded" in down.value.detail


def test_renewal_on_the_anniversary_continues_the_year_when_the_requirements_are_met_again(suite: Suite) -> None:
    silver_partner(suite)
    buy(suite, "silver")
    anniversary = TODAY + timedelta(days=365)
    suite.clock.advance(days=370)  # in the 30-day renewal window
    suite.revenue("p1", 20_000, as_of=suite.clock().date() - timedelta(days=20))  # this year's figures
    view = suite.membership.view("p1")
    assert view["status"] == "renewalOpen" and view["level"] == "silver", "benefits are kept in the renewal window"
    renewed = buy(suite, "silver")
    assert renewed["purchase"]["kind"] == "renewal"
    assert (renewed["purchasedOn"], renewed["expiresOn"]) == (anniversary.isoformat(), (anniversary + timedelta(days=365)).isoformat())


def test_renewal_needs_the_requirements_met_again(suite: Suite) -> None:
    silver_partner(suite)
    buy(suite, "silver")
    suite.clock.advance(days=370)  # last year's revenue is now outside the trailing 12 months
    with pytest.raises(Conflict):
        buy(suite, "silver")
    view = suite.membership.view("p1")
    assert view["status"] == "renewalOpen" and view["renewalAtRisk"] is True


def test_after_the_renewal_window_the_pack_lapses_and_a_new_purchase_starts_today(suite: Suite) -> None:
    silver_partner(suite)
    buy(suite, "silver")
    suite.clock.advance(days=365 + 30)
    lapsed = suite.membership.view("p1")
    assert (lapsed["status"], lapsed["level"], lapsed["businessProfile"], lapsed["renewalAtRisk"]) == ("lapsed", "none", [], False)
    suite.revenue("p1", 20_000, as_of=suite.clock().date() - timedelta(days=5))
    again = buy(suite, "silver")
    today = suite.clock().date()
    assert again["purchase"]["kind"] == "purchase" and again["purchasedOn"] == today.isoformat()


def test_the_day_before_the_window_closes_the_level_is_still_shown(suite: Suite) -> None:
    silver_partner(suite)
    buy(suite, "silver")
    suite.clock.advance(days=365 + 29)
    view = suite.membership.view("p1")
    assert (view["status"], view["level"]) == ("renewalOpen", "silver")


def test_losing_the_only_certified_person_puts_the_renewal_at_risk_but_the_status_stays(suite: Suite) -> None:
    partner = silver_partner(suite)
    buy(suite, "silver")
    suite.clock.advance(days=1)
    suite.msa.unlink(partner, suite.member(partner, "u0"))  # the person's MSA no longer counts here
    suite.evaluation.evaluate_partner("p1")
    view = suite.membership.view("p1")
    assert view["renewalAtRisk"] is True
    assert view["renewalRisks"] == [{"competencyId": "cloud-platform", "level": "silver", "state": "notMet"}]
    assert view["level"] == "silver" and view["businessProfile"] == [{"competencyId": "cloud-platform", "level": "silver"}]
    assert view["eligibleLevels"] == []
    at_risk = [a for a in alert_service(suite.c).list("p1") if a["title"] == AT_RISK_TITLE]
    assert len(at_risk) == 1 and at_risk[0]["competencyId"] == "cloud-platform" and at_risk[0]["level"] == "silver"


def test_an_achievement_lapsing_before_the_anniversary_and_within_the_window_is_a_risk(suite: Suite) -> None:
    last_day = TODAY + timedelta(days=40)
    silver_partner(suite, expires=last_day.isoformat())
    bought = buy(suite, "silver")
    assert bought["renewalAtRisk"] is True
    lapsing = {"competencyId": "cloud-platform", "level": "silver", "state": "lapsing", "lastDay": last_day.isoformat()}
    assert bought["renewalRisks"] == [lapsing]
    at_risk = [a for a in alert_service(suite.c).list("p1") if a["title"] == AT_RISK_TITLE]
    assert len(at_risk) == 1, "the purchase itself raises the alert: the renewal is at risk from day one"


def test_an_achievement_lapsing_beyond_the_alert_window_is_not_yet_a_risk(suite: Suite) -> None:
    window = suite.c.settings.alert_window_days
    silver_partner(suite, expires=(TODAY + timedelta(days=window + 10)).isoformat())
    bought = buy(suite, "silver")
    assert bought["renewalAtRisk"] is False and bought["renewalRisks"] == []


def test_without_a_subscription_nothing_is_at_risk(suite: Suite) -> None:
    partner = silver_partner(suite)
    suite.evaluation.evaluate_partner("p1")
    suite.msa.unlink(partner, suite.member(partner, "u0"))
    suite.evaluation.evaluate_partner("p1")
    view = suite.membership.view("p1")
    assert (view["level"], view["status"], view["renewalAtRisk"]) == ("none", "none", False)
    assert [a for a in alert_service(suite.c).list("p1") if a["title"] == AT_RISK_TITLE] == []
