"""Membership rules, pure: eligibility, buying and renewing a benefit pack, the business
profile and the renewal window (DESIGN.md §1 Membership, CATALOG_FACTS lifecycle).

- Eligible for a level when one competency meets one path at that level.
- A subscription lasts 365 days from purchase; the anniversary opens a 30-day renewal
  window in which the level and benefits are kept; after it the level lapses.
- Renewing (in the window) starts the new year on the old anniversary; upgrading silver to
  gold during the year starts a new year from the upgrade (discounted 25 %).
- Business profile: silver shows every competency achieved at silver or above (as silver);
  gold shows each achieved competency at its level.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from shared.domain.catalog import LEVEL_RANK
from shared.domain.evaluation import achieved_levels

YEAR = timedelta(days=365)
RENEWAL_WINDOW = timedelta(days=30)
UPGRADE_DISCOUNT_PERCENT = 25
Status = Literal["none", "active", "renewalOpen", "lapsed"]


@dataclass(frozen=True)
class Subscription:
    level: str
    purchased_on: date
    expires_on: date  # the anniversary


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


def eligible_levels(evaluation: Mapping[str, Any] | None) -> list[str]:
    best = max((LEVEL_RANK.get(level, 0) for level in achieved_levels(evaluation).values()), default=0)
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


def business_profile(level: str, evaluation: Mapping[str, Any] | None) -> list[dict[str, str]]:
    if level == "none":
        return []
    shown = []
    for competency_id, achieved in sorted(achieved_levels(evaluation).items()):
        if LEVEL_RANK.get(achieved, 0) == 0:
            continue
        shown_level = achieved if level == "gold" else "silver"
        shown.append({"competencyId": competency_id, "level": shown_level})
    return shown


def _gap(evaluation: Mapping[str, Any] | None, level: str) -> str | None:
    """The smallest stated gap to ``level`` among the competencies (for the 409 problem)."""
    gaps = []
    for c in (evaluation or {}).get("competencies", []):
        nxt = c.get("nextLevel") or {}
        if nxt.get("level") == level and nxt.get("gap"):
            gaps.append((len(nxt["gap"]), f"{c.get('name', c['competencyId'])}: {nxt['gap']}"))
    return min(gaps)[1] if gaps else None


def buy(level: str, current: Subscription | None, evaluation: Mapping[str, Any] | None, on: date) -> Purchase:
    """Buy, renew or upgrade; raises ``NotEligible`` with the gap in words."""
    if evaluation is None:
        raise NotEligible("The organisation has not been evaluated yet; the nightly evaluation runs at 02:00 UTC.")
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


def renewal_at_risk(subscription: Subscription | None, evaluation: Mapping[str, Any] | None, on: date) -> bool:
    """Subscribed, and the subscribed level is no longer met or a profile competency is at risk."""
    if displayed_level(subscription, on) == "none" or subscription is None:
        return False
    if subscription.level not in eligible_levels(evaluation):
        return True
    return any(c.get("atRisk") for c in (evaluation or {}).get("competencies", []) if c.get("achievedLevel") != "none")


def membership_view(partner_id: str, subscription: Subscription | None, evaluation: Mapping[str, Any] | None, on: date) -> dict[str, Any]:
    level = displayed_level(subscription, on)
    return {
        "partnerId": partner_id,
        "level": level,
        "status": status(subscription, on),
        "purchasedOn": subscription.purchased_on.isoformat() if subscription else None,
        "expiresOn": subscription.expires_on.isoformat() if subscription else None,
        "renewalClosesOn": (subscription.expires_on + RENEWAL_WINDOW).isoformat() if subscription else None,
        "eligibleLevels": eligible_levels(evaluation),
        "renewalAtRisk": renewal_at_risk(subscription, evaluation, on),
        "businessProfile": business_profile(level, evaluation),
    }


MEMBERSHIP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["partnerId", "level", "purchasedOn", "expiresOn", "eligibleLevels", "renewalAtRisk", "businessProfile"],
    "properties": {
        "partnerId": {"type": "string"},
        "level": {"type": "string", "enum": ["none", "silver", "gold"]},
        "status": {"type": "string", "enum": ["none", "active", "renewalOpen", "lapsed"]},
        "purchasedOn": {"type": ["string", "null"], "format": "date"},
        "expiresOn": {"type": ["string", "null"], "format": "date"},
        "renewalClosesOn": {"type": ["string", "null"], "format": "date"},
        "eligibleLevels": {"type": "array", "items": {"type": "string", "enum": ["silver", "gold"]}},
        "renewalAtRisk": {"type": "boolean"},
        "businessProfile": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["competencyId", "level"],
                "properties": {"competencyId": {"type": "string"}, "level": {"type": "string", "enum": ["silver", "gold"]}},
            },
        },
    },
}
