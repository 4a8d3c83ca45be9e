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

from shared.domain.catalog import LEVEL_RANK
from shared.domain.evaluation import CompetencyFacts, EvaluationFacts, ExpiringAchievement, PerformanceFacts
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


def _contributors(competency: CompetencyFacts | None, level: str) -> set[str]:
    if competency is None:
        return set()
    return {u for lv in competency.levels if lv.level == level for u in lv.contributors}


def _label(r: PerformanceFacts) -> str:
    return r.description or r.kind


def _shortfalls(competency: CompetencyFacts | None, level: str) -> list[str]:
    """Unmet performance requirements of the level's closest path, in words."""
    if competency is None:
        return []
    words = [
        f"{_label(r)}: {r.current} of {r.required}" for lv in competency.levels if lv.level == level for r in lv.performance if not r.met
    ]
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
    competency: CompetencyFacts | None, level: str, expiring: Sequence[ExpiringAchievement], people: Mapping[str, PersonFacts]
) -> tuple[str, str]:
    """(cause code, words) for a level that will lapse: the achievements it depends on, or the
    performance figures leaving the trailing period."""
    cid = competency.competency_id if competency else None
    items = [e for e in expiring if e.competency_id == cid]
    if items:
        retired = all(e.accepted_until for e in items)
        words = ", ".join(
            f"{people.get(e.user_id, PersonFacts(e.user_id, e.user_id)).display_name}'s {e.code} "
            + (f"is accepted until {e.expires_on.isoformat()}" if e.accepted_until else f"expires on {e.expires_on.isoformat()}")
            for e in sorted(items, key=lambda e: (e.expires_on, e.user_id, e.code))
        )
        return ("examRetiring" if retired else "achievementExpiring"), words
    for lv in competency.levels if competency else ():
        if lv.level != level:
            continue
        for r in lv.performance:
            if r.expires_on is not None:
                return "performanceLeavingPeriod", f"{_label(r)} falls below {r.required} after {r.expires_on.isoformat()}"
    return "requirementsLapsing", "the requirements stop being met"


def _expiring_key(item: ExpiringAchievement) -> tuple[str, str, str, str, date]:
    return (item.competency_id, item.level, item.user_id, item.code, item.expires_on)


def raise_alerts(
    *,
    partner_id: str,
    previous: EvaluationFacts | None,
    current: EvaluationFacts,
    held: Mapping[str, str],
    people: Mapping[str, PersonFacts],
    raised_at: datetime,
    risks: Sequence[RenewalRisk] = (),
    previous_risks: Sequence[RenewalRisk] = (),
    reminders: Sequence[Reminder] = (),
) -> list[Alert]:
    """Alerts for the change from ``previous`` to ``current`` (what the rules read of each).

    ``risks`` / ``previous_risks``: the renewal risks (``membership.renewal_risks``, the rule
    ``GET membership`` answers with) now and at the previous evaluation; a risk new since then
    raises the at-risk alert once (an episode lasts while the risk stays). ``held``: level per
    competency held before this evaluation (achieved last time or subscribed), for the
    "attained" notice. ``current.expiring``: achievements a held level depends on that expire
    within the window (announced once: those of ``previous`` were). ``reminders``: renewal
    reminders due today.
    """
    alerts: list[Alert] = []
    before = previous.achieved_levels() if previous is not None else {}
    after = current.achieved_levels()
    episode = previous.evaluated_at if previous is not None else "first"
    names = {c.competency_id: c.name for c in current.competencies}

    seen = {(r.competency_id, r.level, r.state) for r in previous_risks}
    for risk in risks:
        if (risk.competency_id, risk.level, risk.state) in seen:
            continue  # the same episode: raised when it began, not every night
        competency_id, level = risk.competency_id, risk.level
        name = names.get(competency_id, competency_id)
        if risk.state == "notMet":
            lost = _contributors(previous.competency(competency_id) if previous is not None else None, level) - _contributors(
                current.competency(competency_id), level
            )
            facts = [people.get(u, PersonFacts(u, u)) for u in sorted(lost)]
            cause, words = _cause_of(facts)
            shortfalls = _shortfalls(current.competency(competency_id), level)
            if not facts and shortfalls:
                cause, words = "performanceBelowThreshold", "performance below threshold: " + "; ".join(shortfalls)
            detail = f"{name} ({level}) is no longer met: {words}."
        else:
            cause, words = _lapse_of(current.competency(competency_id), level, current.expiring, people)
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
    announced = {_expiring_key(item) for item in previous.expiring} if previous is not None else set()
    for item in sorted(current.expiring, key=lambda e: (e.expires_on, e.competency_id, e.user_id, e.code)):
        if _expiring_key(item) in announced:
            continue
        person = people.get(item.user_id, PersonFacts(item.user_id, item.user_id))
        expires_on = item.expires_on
        retired = item.accepted_until is not None
        ends = "is accepted until" if retired else "expires on"
        remedy = (
            "a current exam of the requirement is needed, or another qualified person must count"
            if retired
            else "renew it or another qualified person must count"
        )
        alerts.append(
            Alert(
                id=alert_id(partner_id, TYPE_EXPIRING, item.competency_id, item.level, item.user_id, item.code, expires_on.isoformat()),
                type=TYPE_EXPIRING,
                partner_id=partner_id,
                competency_id=item.competency_id,
                level=item.level,
                title=f"An achievement that {names.get(item.competency_id, item.competency_id)} ({item.level}) "
                f"depends on {ends} {expires_on.isoformat()}",
                detail=f"{person.display_name}'s {item.code} {ends} {expires_on.isoformat()} (its last day); "
                f"{remedy} before then to keep {item.level}.",
                cause="achievementExpiring",
                raised_at=raised_at,
                subject_user_id=item.user_id,
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
