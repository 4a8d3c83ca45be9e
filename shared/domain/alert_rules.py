"""Alert rules: what the change between two evaluations of a partner means for it.

Pure: (previous evaluation, new evaluation, what the partner holds, why people stopped
counting) → alerts. Each alert's id is derived from what it is about, so evaluating again,
or redelivering the message that caused an evaluation, never raises the same alert twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from shared.domain.catalog import LEVEL_RANK, PERFORMANCE_KINDS
from shared.domain.evaluation import achieved_levels
from shared.domain.membership import Reminder, RenewalRisk

RENEWAL_AT_RISK_TITLE = "A recent change to your competency achievement has put your membership renewal eligibility at risk"
TYPE_AT_RISK = "competency.renewal.atrisk"
TYPE_EXPIRING = "competency.achievement.expiring"
TYPE_ATTAINED = "competency.level.attained"
TYPE_REMINDER = "membership.renewal.reminder"


@dataclass(frozen=True)
class PersonFacts:
    """Why a person might have stopped counting (filled from the partner's documents)."""

    user_id: str
    display_name: str
    departed: bool = False
    msa_moved_to_other_organisation: bool = False
    msa_unlinked: bool = False


@dataclass(frozen=True)
class Alert:
    id: str
    type: str
    partner_id: str
    competency_id: str
    level: str
    title: str
    detail: str
    cause: str
    raised_at: datetime
    subject_user_id: str | None = None
    expires_on: date | None = None


def alert_id(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _competency(evaluation: Mapping[str, Any], competency_id: str) -> Mapping[str, Any] | None:
    return next((c for c in evaluation.get("competencies", []) if c["competencyId"] == competency_id), None)


def _contributors(competency: Mapping[str, Any] | None, level: str) -> set[str]:
    if competency is None:
        return set()
    found: set[str] = set()
    for lv in competency.get("levels", []):
        if lv.get("level") != level:
            continue
        for path in lv.get("paths", []):
            for requirement in path.get("requirements", []):
                found.update(requirement.get("contributors", []))
    return found


def _shortfalls(competency: Mapping[str, Any] | None, level: str) -> list[str]:
    """Unmet performance requirements of the level's closest path, in words."""
    if competency is None:
        return []
    words = []
    for lv in competency.get("levels", []):
        if lv.get("level") != level:
            continue
        for path in lv.get("paths", []):
            for r in path.get("requirements", []):
                if not r.get("met") and r.get("kind") in PERFORMANCE_KINDS:
                    words.append(f"{r.get('description') or r['kind']}: {r.get('current')} of {r.get('required')}")
    return sorted(set(words))


def _cause_of(people: Iterable[PersonFacts]) -> tuple[str, str]:
    """(cause code, words) for the people who stopped counting."""
    left = [p for p in people if p.departed]
    moved = [p for p in people if not p.departed and p.msa_moved_to_other_organisation]
    unlinked = [p for p in people if not p.departed and not p.msa_moved_to_other_organisation and p.msa_unlinked]
    expired = [p for p in people if not (p.departed or p.msa_moved_to_other_organisation or p.msa_unlinked)]
    parts: list[tuple[str, str]] = []
    if left:
        parts.append(("employeeLeft", "employee left: " + ", ".join(sorted(p.display_name for p in left))))
    if moved:
        parts.append(("msaMoved", "MSA moved to another organisation: " + ", ".join(sorted(p.display_name for p in moved))))
    if unlinked:
        parts.append(("msaUnlinked", "MSA unlinked: " + ", ".join(sorted(p.display_name for p in unlinked))))
    if expired:
        parts.append(("achievementExpired", "achievement expired: " + ", ".join(sorted(p.display_name for p in expired))))
    if not parts:
        return "requirementsNotMet", "the requirements are no longer met"
    return parts[0][0] if len(parts) == 1 else "multiple", "; ".join(text for _, text in parts)


def _lapse_of(
    competency: Mapping[str, Any] | None, level: str, expiring: Sequence[Mapping[str, Any]], people: Mapping[str, PersonFacts]
) -> tuple[str, str]:
    """(cause code, words) for a level that will lapse: the achievements it depends on, or the
    performance figures leaving the trailing period."""
    cid = competency.get("competencyId") if competency else None
    items = [e for e in expiring if e.get("competencyId") == cid]
    if items:
        retired = all(e.get("acceptedUntil") for e in items)
        words = ", ".join(
            f"{people.get(e['userId'], PersonFacts(e['userId'], e['userId'])).display_name}'s {e['code']} "
            + (f"is accepted until {e['expiresOn']}" if e.get("acceptedUntil") else f"expires on {e['expiresOn']}")
            for e in sorted(items, key=lambda e: (str(e["expiresOn"]), e["userId"], e["code"]))
        )
        return ("examRetiring" if retired else "achievementExpiring"), words
    for lv in (competency or {}).get("levels", []):
        if lv.get("level") != level:
            continue
        for path in lv.get("paths", []):
            for r in path.get("requirements", []):
                if r.get("kind") in PERFORMANCE_KINDS and r.get("expiresOn"):
                    return (
                        "performanceLeavingPeriod",
                        f"{r.get('description') or r['kind']} falls below {r.get('required')} after {r['expiresOn']}",
                    )
    return "requirementsLapsing", "the requirements stop being met"


def _expiring_key(item: Mapping[str, Any]) -> tuple[str, str, str, str, str]:
    expires_on = item["expiresOn"]
    day = expires_on.isoformat() if isinstance(expires_on, date) else str(expires_on)
    return (str(item["competencyId"]), str(item["level"]), str(item["userId"]), str(item["code"]), day)


def raise_alerts(
    *,
    partner_id: str,
    previous: Mapping[str, Any] | None,
    current: Mapping[str, Any],
    held: Mapping[str, str],
    people: Mapping[str, PersonFacts],
    expiring: Sequence[Mapping[str, Any]],
    raised_at: datetime,
    risks: Sequence[RenewalRisk] = (),
    previous_risks: Sequence[RenewalRisk] = (),
    reminders: Sequence[Reminder] = (),
) -> list[Alert]:
    """Alerts for the change from ``previous`` to ``current`` (both in the API shape).

    ``risks`` / ``previous_risks``: the renewal risks (``membership.renewal_risks``, the rule
    ``GET membership`` answers with) now and at the previous evaluation; a risk new since then
    raises the at-risk alert once (an episode lasts while the risk stays). ``held``: level per
    competency held before this evaluation (achieved last time or subscribed), for the
    "attained" notice. ``expiring``: achievements a held level depends on that expire within
    the window: ``{"competencyId", "level", "userId", "code", "expiresOn", "acceptedUntil"?}``
    (``expiresOn`` is the last day it counts; ``acceptedUntil`` when a retired exam's grace
    ends). ``reminders``: renewal reminders due today.
    """
    alerts: list[Alert] = []
    before = achieved_levels(previous)
    after = achieved_levels(current)
    episode = str(previous.get("evaluatedAt")) if previous else "first"
    names = {c["competencyId"]: c.get("name", c["competencyId"]) for c in current.get("competencies", [])}

    seen = {(r.competency_id, r.level, r.state) for r in previous_risks}
    for risk in risks:
        if (risk.competency_id, risk.level, risk.state) in seen:
            continue  # the same episode: raised when it began, not every night
        competency_id, level = risk.competency_id, risk.level
        name = names.get(competency_id, competency_id)
        if risk.state == "notMet":
            lost = _contributors(_competency(previous, competency_id) if previous else None, level) - _contributors(
                _competency(current, competency_id), level
            )
            facts = [people.get(u, PersonFacts(u, u)) for u in sorted(lost)]
            cause, words = _cause_of(facts)
            shortfalls = _shortfalls(_competency(current, competency_id), level)
            if not facts and shortfalls:
                cause, words = "performanceBelowThreshold", "performance below threshold: " + "; ".join(shortfalls)
            detail = f"{name} ({level}) is no longer met: {words}."
        else:
            cause, words = _lapse_of(_competency(current, competency_id), level, expiring, people)
            last = risk.last_day.isoformat() if risk.last_day else "soon"
            detail = f"{name} ({level}) stops being met after {last}, before the membership renewal: {words}."
        alerts.append(
            Alert(
                id=alert_id(partner_id, TYPE_AT_RISK, competency_id, level, risk.state, episode),
                type=TYPE_AT_RISK,
                partner_id=partner_id,
                competency_id=competency_id,
                level=level,
                title=RENEWAL_AT_RISK_TITLE,
                detail=detail,
                cause=cause,
                raised_at=raised_at,
                expires_on=risk.last_day,
            )
        )

    for reminder in reminders:
        when = "opens on" if reminder.days_from_anniversary < 0 else "opened on"
        alerts.append(
            Alert(
                id=alert_id(partner_id, TYPE_REMINDER, reminder.anniversary.isoformat(), str(reminder.days_from_anniversary)),
                type=TYPE_REMINDER,
                partner_id=partner_id,
                competency_id="",
                level=reminder.level,
                title=f"Renew your {reminder.level} membership: the renewal {when} {reminder.anniversary.isoformat()}",
                detail=f"The {reminder.level} benefit pack's renewal window runs from {reminder.anniversary.isoformat()} "
                f"to {reminder.closes_on.isoformat()}; renew within it to keep the level and its benefits.",
                cause="renewalReminder",
                raised_at=raised_at,
                expires_on=reminder.closes_on,
            )
        )

    # An expiring achievement is announced once: the previous evaluation's list was announced.
    announced = {_expiring_key(item) for c in (previous or {}).get("competencies", []) for item in c.get("expiring", [])}
    for item in sorted(expiring, key=lambda e: (e["expiresOn"], e["competencyId"], e["userId"], e["code"])):
        if _expiring_key(item) in announced:
            continue
        person = people.get(item["userId"], PersonFacts(item["userId"], item["userId"]))
        expires_on = item["expiresOn"] if isinstance(item["expiresOn"], date) else date.fromisoformat(str(item["expiresOn"]))
        retired = bool(item.get("acceptedUntil"))
        ends = "is accepted until" if retired else "expires on"
        remedy = (
            "a current exam of the requirement is needed, or another qualified person must count"
            if retired
            else "renew it or another qualified person must count"
        )
        alerts.append(
            Alert(
                id=alert_id(
                    partner_id, TYPE_EXPIRING, item["competencyId"], item["level"], item["userId"], item["code"], expires_on.isoformat()
                ),
                type=TYPE_EXPIRING,
                partner_id=partner_id,
                competency_id=item["competencyId"],
                level=item["level"],
                title=f"An achievement that {names.get(item['competencyId'], item['competencyId'])} ({item['level']}) "
                f"depends on {ends} {expires_on.isoformat()}",
                detail=f"{person.display_name}'s {item['code']} {ends} {expires_on.isoformat()} (its last day); "
                f"{remedy} before then to keep {item['level']}.",
                cause="achievementExpiring",
                raised_at=raised_at,
                subject_user_id=item["userId"],
                expires_on=expires_on,
            )
        )

    for competency_id, level in sorted(after.items()):
        if LEVEL_RANK.get(level, 0) > LEVEL_RANK.get(before.get(competency_id, "none"), 0) and LEVEL_RANK.get(level, 0) > LEVEL_RANK.get(
            held.get(competency_id, "none"), 0
        ):
            alerts.append(
                Alert(
                    id=alert_id(partner_id, TYPE_ATTAINED, competency_id, level, episode),
                    type=TYPE_ATTAINED,
                    partner_id=partner_id,
                    competency_id=competency_id,
                    level=level,
                    title=f"{names.get(competency_id, competency_id)}: {level} level attained",
                    detail=f"The organisation now meets the {level} requirements of {names.get(competency_id, competency_id)}; "
                    f"it is eligible to buy the {level} benefit pack.",
                    cause="levelAttained",
                    raised_at=raised_at,
                )
            )
    # One alert per id (the same expiring achievement can back several levels' requirements).
    unique: dict[str, Alert] = {}
    for alert in alerts:
        unique.setdefault(alert.id, alert)
    return list(unique.values())
