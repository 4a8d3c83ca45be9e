"""Membership rules, pure: eligibility, buying and renewing a benefit pack, the business
profile and the renewal window (DESIGN.md §1 Membership, CATALOG_FACTS lifecycle).

- Eligible for a level when one competency meets one path at that level.
- A subscription lasts 365 days from purchase; the anniversary opens a 30-day renewal
  window in which the level and benefits are kept; after it the level lapses.
- Renewing (in the window) starts the new year on the old anniversary; upgrading silver to
  gold during the year starts a new year from the upgrade (discounted 25 %).
- Business profile: silver shows every competency achieved at silver or above (as silver);
  gold shows each achieved competency at its level. The competencies the subscription was
  bought for stay on it until the subscription (and its renewal window) ends, whatever
  today's evaluation says ("status continues to display until the year has elapsed").
- Renewal at risk (one rule for ``GET membership`` and the at-risk alert): a competency the
  subscription was bought for no longer meets its level, or its last day met falls before
  the renewal date (the anniversary) and within the alert window. The window applies because
  performance figures arrive monthly: without it every trailing-period requirement would be
  "at risk" from the day of purchase.
- Renewal reminders: 15 days before the anniversary and 23 days after it (CATALOG_FACTS).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from shared.domain.catalog import LEVEL_RANK
from shared.domain.evaluation import EvaluationFacts
from shared.schedules import NIGHTLY_EVALUATION, runs

YEAR = timedelta(days=365)
RENEWAL_WINDOW = timedelta(days=30)
UPGRADE_DISCOUNT_PERCENT = 25
Status = Literal["none", "active", "renewalOpen", "lapsed"]


REMINDER_OFFSETS = (timedelta(days=-15), timedelta(days=23))  # from the anniversary


@dataclass(frozen=True)
class Subscription:
    level: str
    purchased_on: date
    expires_on: date  # the anniversary
    competencies: Mapping[str, str] = field(default_factory=dict)  # bought for: competencyId → level


@dataclass(frozen=True)
class RenewalRisk:
    """A competency the subscription was bought for, at risk for the renewal."""

    competency_id: str
    level: str
    state: Literal["notMet", "lapsing"]
    last_day: date | None = None  # lapsing: the last day the level is met if nothing changes

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"competencyId": self.competency_id, "level": self.level, "state": self.state}
        if self.last_day is not None:
            out["lastDay"] = self.last_day.isoformat()
        return out


@dataclass(frozen=True)
class Purchase:
    subscription: Subscription
    kind: Literal["purchase", "renewal", "upgrade", "repeat"]
    discount_percent: int = 0


class NotEligible(Exception):
    def __init__(self, detail: str, gap: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.gap = gap


def _achieved(evaluation: EvaluationFacts | None) -> dict[str, str]:
    return evaluation.achieved_levels() if evaluation is not None else {}


def eligible_levels(evaluation: EvaluationFacts | None) -> list[str]:
    best = max((LEVEL_RANK.get(level, 0) for level in _achieved(evaluation).values()), default=0)
    return [level for level in ("silver", "gold") if LEVEL_RANK[level] <= best]


def status(subscription: Subscription | None, on: date) -> Status:
    if subscription is None:
        return "none"
    if on < subscription.expires_on:
        return "active"
    if on < subscription.expires_on + RENEWAL_WINDOW:
        return "renewalOpen"
    return "lapsed"


def displayed_level(subscription: Subscription | None, on: date) -> str:
    """The level kept on display: through the subscription year and its renewal window."""
    return subscription.level if subscription is not None and status(subscription, on) in ("active", "renewalOpen") else "none"


def business_profile(level: str, evaluation: EvaluationFacts | None, bought_for: Mapping[str, str] | None = None) -> list[dict[str, str]]:
    """What the profile shows at ``level``: today's achieved competencies, and those the
    subscription was bought for (``bought_for``) at their level, whichever is higher."""
    if level == "none":
        return []
    best = dict(bought_for or {})
    for competency_id, achieved in _achieved(evaluation).items():
        if LEVEL_RANK.get(achieved, 0) > LEVEL_RANK.get(best.get(competency_id, "none"), 0):
            best[competency_id] = achieved
    return [
        {"competencyId": competency_id, "level": achieved if level == "gold" else "silver"}
        for competency_id, achieved in sorted(best.items())
        if LEVEL_RANK.get(achieved, 0) > 0
    ]


def _level_state(evaluation: EvaluationFacts | None, competency_id: str, level: str) -> tuple[bool, date | None]:
    """(met, last day met if foreseen) of a competency's level in an evaluation."""
    competency = evaluation.competency(competency_id) if evaluation is not None else None
    if competency is None:
        return False, None
    result = competency.level(level)
    if result is None:  # a summary without levels: the achieved level decides (gold implies silver)
        return LEVEL_RANK.get(competency.achieved_level, 0) >= LEVEL_RANK[level], None
    return result.met, result.expires_on


def renewal_risks(subscription: Subscription | None, evaluation: EvaluationFacts | None, on: date, window_days: int) -> list[RenewalRisk]:
    """The competencies the subscription was bought for that put its renewal at risk."""
    if subscription is None or displayed_level(subscription, on) == "none":
        return []
    risks = []
    horizon = min(subscription.expires_on, on + timedelta(days=window_days))
    for competency_id, level in sorted(subscription.competencies.items()):
        met, last_day = _level_state(evaluation, competency_id, level)
        if not met:
            risks.append(RenewalRisk(competency_id, level, "notMet"))
        elif last_day is not None and last_day < horizon:
            risks.append(RenewalRisk(competency_id, level, "lapsing", last_day))
    return risks


@dataclass(frozen=True)
class Reminder:
    """A renewal reminder: ``days_from_anniversary`` is -15 or 23 (CATALOG_FACTS)."""

    level: str
    anniversary: date
    closes_on: date
    days_from_anniversary: int


REMINDER_GRACE = timedelta(days=7)  # a reminder still goes out if the evaluation of its day was missed


def reminder_days(subscription: Subscription | None) -> list[date]:
    """The days a renewal reminder is due (the evaluation must run on them)."""
    return [subscription.expires_on + offset for offset in REMINDER_OFFSETS] if subscription is not None else []


def due_reminders(subscription: Subscription | None, on: date) -> list[Reminder]:
    """Renewal reminders due on ``on``: 15 days before the anniversary while the year runs,
    23 days after it while the renewal window is open and the pack not yet renewed (renewing
    moves the anniversary, so the old one's reminder is no longer due). An alert id per
    anniversary and day keeps each to one."""
    if subscription is None:
        return []
    due = []
    for offset in REMINDER_OFFSETS:
        day = subscription.expires_on + offset
        expected: Status = "active" if offset.days < 0 else "renewalOpen"
        if day <= on < day + REMINDER_GRACE and status(subscription, on) == expected:
            due.append(Reminder(subscription.level, subscription.expires_on, subscription.expires_on + RENEWAL_WINDOW, offset.days))
    return due


def _gap(evaluation: EvaluationFacts | None, level: str) -> str | None:
    """The smallest stated gap to ``level`` among the competencies (for the 409 problem)."""
    gaps = []
    for c in evaluation.competencies if evaluation is not None else ():
        nxt = c.next_level
        if nxt is not None and nxt.level == level and nxt.gap:
            gaps.append((len(nxt.gap), f"{c.name}: {nxt.gap}"))
    return min(gaps)[1] if gaps else None


def buy(
    level: str, current: Subscription | None, evaluation: EvaluationFacts | None, on: date, *, schedule: str = NIGHTLY_EVALUATION
) -> Purchase:
    """Buy, renew or upgrade; raises ``NotEligible`` with the gap in words (``schedule``: the nightly evaluation's)."""
    if evaluation is None:
        raise NotEligible(f"The organisation has not been evaluated yet; the nightly evaluation {runs(schedule)}.")
    if level not in eligible_levels(evaluation):
        gap = _gap(evaluation, level)
        detail = f"The organisation does not meet any competency at {level}."
        raise NotEligible(detail + (f" Closest: {gap}." if gap else ""), gap)
    state = status(current, on)
    if current is not None and state == "active":
        if current.level == level:
            if current.purchased_on == on:
                return Purchase(current, "repeat")  # a retried request: nothing new
            raise NotEligible(f"The {level} benefit pack is active until {current.expires_on.isoformat()}; renewal opens on that day.")
        if LEVEL_RANK[level] < LEVEL_RANK[current.level]:
            raise NotEligible(
                f"The {current.level} benefit pack is active until {current.expires_on.isoformat()}; it cannot be downgraded."
            )
        return Purchase(Subscription(level, on, on + YEAR), "upgrade", UPGRADE_DISCOUNT_PERCENT)
    if current is not None and state == "renewalOpen":
        return Purchase(Subscription(level, current.expires_on, current.expires_on + YEAR), "renewal")
    return Purchase(Subscription(level, on, on + YEAR), "purchase")


def renewal_at_risk(subscription: Subscription | None, evaluation: EvaluationFacts | None, on: date, window_days: int) -> bool:
    """Subscribed, and the renewal is at risk: a risk per ``renewal_risks``, or (a subscription
    bought for no recorded competency) the subscribed level is no longer met anywhere."""
    if displayed_level(subscription, on) == "none" or subscription is None:
        return False
    if not subscription.competencies:
        return subscription.level not in eligible_levels(evaluation)
    return bool(renewal_risks(subscription, evaluation, on, window_days))


def membership_view(
    partner_id: str, subscription: Subscription | None, evaluation: EvaluationFacts | None, on: date, window_days: int
) -> dict[str, Any]:
    level = displayed_level(subscription, on)
    return {
        "partnerId": partner_id,
        "level": level,
        "status": status(subscription, on),
        "purchasedOn": subscription.purchased_on.isoformat() if subscription else None,
        "expiresOn": subscription.expires_on.isoformat() if subscription else None,
        "renewalClosesOn": (subscription.expires_on + RENEWAL_WINDOW).isoformat() if subscription else None,
        "eligibleLevels": eligible_levels(evaluation),
        "renewalAtRisk": renewal_at_risk(subscription, evaluation, on, window_days),
        "renewalRisks": [r.to_api() for r in renewal_risks(subscription, evaluation, on, window_days)],
        "businessProfile": business_profile(level, evaluation, subscription.competencies if subscription else None),
    }
