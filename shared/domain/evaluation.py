"""The evaluation engine: (catalog, one partner's snapshot, date) → evaluation. Pure and
deterministic: no I/O, no clock, independent of the order of its inputs.

Rules (DESIGN.md §1):
- a person counts toward a skill requirement only while active, with an MSA linked to this
  partner, holding achievements valid on the date; once per requirement;
- an achievement counts from ``earnedOn`` through ``expiresOn`` (its last day, as for an
  override); a retired exam also stops after the catalog's ``acceptedUntil`` (its last day);
- performance requirements sum the figures of the trailing period (``aggregate: latest``
  takes the newest figure, for counts that are a level such as seats);
- a level is met when one of its paths is (or an unexpired override says so);
- ``earliestExpiry``: the last day a level the partner holds or has achieved is met if
  nothing changes (a last day, as every ``expiresOn``); ``atRisk``: a held level is not met, or lapses within the window.
"""

from __future__ import annotations

import calendar
import copy
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal, NamedTuple

from shared.domain.catalog import LEVEL_RANK, LEVELS, PERFORMANCE_KINDS, SKILL_KINDS, Catalog, Competency, Requirement
from shared.domain.catalog import plain_number as _number

AchievementKind = Literal["certification", "exam", "assessment"]
LevelName = Literal["silver", "gold"]
_NEVER = date.max


class Person(NamedTuple):
    user_id: str
    display_name: str
    active: bool
    msa_id: str | None  # linked to this partner, else None


class Achievement(NamedTuple):  # tuples: a partner has thousands, built fast
    msa_id: str
    kind: AchievementKind
    code: str
    earned_on: date
    expires_on: date | None = None
    title: str | None = None


class MetricFigure(NamedTuple):
    metric: str
    competency_id: str
    as_of: date
    value: float


@dataclass(frozen=True)
class Override:
    override_id: str
    competency_id: str
    level: LevelName
    path_id: str | None
    requirement_id: str | None
    reason: str
    expires_on: date  # last day it applies


@dataclass(frozen=True)
class PartnerSnapshot:
    partner_id: str
    people: Sequence[Person] = ()
    achievements: Sequence[Achievement] = ()
    metrics: Sequence[MetricFigure] = ()
    overrides: Sequence[Override] = ()
    held: Mapping[str, LevelName] = field(default_factory=dict)  # achieved last time or subscribed


# --- what the rules read of an evaluation -----------------------------------------------------
#
# The membership and alert rules read an evaluation through these records: a fresh result gives
# them directly (``Evaluation.facts``), the stored one (the API shape) through one light pass
# (``EvaluationFacts.from_api``). Numbers and days are the ones the API shows.


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


class ExpiringAchievement(NamedTuple):
    """An achievement the held (or achieved) level depends on that lapses within the alert
    window: without it the level is no longer met on the day after ``expires_on``."""

    competency_id: str
    level: str
    user_id: str
    code: str
    expires_on: date  # the last day it counts
    accepted_until: date | None = None  # a retired exam's grace ends then (its last accepted day), not the achievement

    def to_api(self) -> dict[str, str]:
        out = {
            "competencyId": self.competency_id,
            "level": self.level,
            "userId": self.user_id,
            "code": self.code,
            "expiresOn": self.expires_on.isoformat(),
        }
        if self.accepted_until is not None:
            out["acceptedUntil"] = self.accepted_until.isoformat()
        return out

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> ExpiringAchievement:
        accepted = item.get("acceptedUntil")
        return cls(
            str(item["competencyId"]),
            str(item["level"]),
            str(item["userId"]),
            str(item["code"]),
            _day(item["expiresOn"]),
            _day(accepted) if accepted else None,
        )


class PerformanceFacts(NamedTuple):
    """A performance requirement of a level, as the API shows it."""

    kind: str
    description: str
    required: float
    current: float
    met: bool
    expires_on: date | None  # the last day it is met if nothing changes; None when not foreseen


class LevelFacts(NamedTuple):
    level: str
    met: bool
    expires_on: date | None  # the last day met if nothing changes; None when not met or not foreseen
    contributors: frozenset[str]  # the people counted by any of its requirements
    performance: tuple[PerformanceFacts, ...]  # its performance requirements, in path order


class NextLevel(NamedTuple):
    level: str
    gap: str  # what is missing, in words


@dataclass(frozen=True, slots=True)
class CompetencyFacts:
    competency_id: str
    name: str
    achieved_level: str  # none, silver or gold
    levels: tuple[LevelFacts, ...] = ()  # empty for a summary that lists none
    next_level: NextLevel | None = None

    def level(self, level: str) -> LevelFacts | None:
        return next((lv for lv in self.levels if lv.level == level), None)


@dataclass(frozen=True, slots=True)
class EvaluationFacts:
    """What the membership and alert rules read of one evaluation of a partner."""

    evaluated_at: str  # as stored and answered: it names an alert episode, so kept as written
    competencies: tuple[CompetencyFacts, ...] = ()
    expiring: tuple[ExpiringAchievement, ...] = ()  # of every competency, in competency order

    def competency(self, competency_id: str) -> CompetencyFacts | None:
        return next((c for c in self.competencies if c.competency_id == competency_id), None)

    def achieved_levels(self) -> dict[str, str]:
        """competencyId → achieved level."""
        return {c.competency_id: c.achieved_level for c in self.competencies}

    @classmethod
    def from_api(cls, evaluation: Mapping[str, Any]) -> EvaluationFacts:
        """The facts of an evaluation in the API shape (the stored one), in one pass; parts
        left out of a summary read as absent."""
        competencies = []
        expiring: list[ExpiringAchievement] = []
        for c in evaluation.get("competencies", ()):
            cid = c["competencyId"]
            levels = []
            for lv in c.get("levels", ()):
                contributors: set[str] = set()
                performance = []
                for path in lv.get("paths", ()):
                    for r in path.get("requirements", ()):
                        contributors.update(r.get("contributors", ()))
                        kind = r.get("kind")
                        if kind in PERFORMANCE_KINDS:
                            last = r.get("expiresOn")
                            performance.append(
                                PerformanceFacts(
                                    kind,
                                    r.get("description") or "",
                                    r["required"],
                                    r["current"],
                                    bool(r.get("met")),
                                    _day(last) if last else None,
                                )
                            )
                last = lv.get("expiresOn")
                levels.append(
                    LevelFacts(
                        lv.get("level"), bool(lv.get("met")), _day(last) if last else None, frozenset(contributors), tuple(performance)
                    )
                )
            nxt = c.get("nextLevel")
            competencies.append(
                CompetencyFacts(
                    cid,
                    c.get("name", cid),
                    c.get("achievedLevel", "none"),
                    tuple(levels),
                    NextLevel(nxt.get("level") or "", nxt.get("gap") or "") if nxt else None,
                )
            )
            expiring += (ExpiringAchievement.from_api(e) for e in c.get("expiring", ()))
        return cls(str(evaluation.get("evaluatedAt")), tuple(competencies), tuple(expiring))


# --- results ----------------------------------------------------------------------------------


@dataclass(slots=True)  # many per evaluation: not frozen, which makes construction slower
class RequirementResult:
    requirement: Requirement
    current: float
    met: bool
    override: bool
    contributors: tuple[str, ...]
    lapses_on: date  # first day it is no longer met if nothing changes (date.max: not foreseeable)

    def to_api(self) -> dict[str, Any]:
        r = self.requirement
        out: dict[str, Any] = {
            "requirementId": r.requirement_id,
            "kind": r.kind,
            "description": r.description,
            "required": _number(r.required),
            "current": _number(self.current),
            "met": self.met,
            "contributors": list(self.contributors),
        }
        if self.met and self.lapses_on != _NEVER:
            out["expiresOn"] = (self.lapses_on - timedelta(days=1)).isoformat()  # its last day met, if nothing changes
        if self.override:
            out["override"] = True
        return out


@dataclass(slots=True)
class PathResult:
    path_id: str
    description: str
    requirements: tuple[RequirementResult, ...]
    override: Override | None = None  # a path override: the path counts as met through its last day
    met: bool = field(init=False)
    lapses_on: date = field(init=False)

    def __post_init__(self) -> None:
        own = all(r.met for r in self.requirements)
        self.met = own or self.override is not None
        dates = [min((r.lapses_on for r in self.requirements), default=_NEVER)] if own else []
        if self.override is not None:
            dates.append(self.override.expires_on + timedelta(days=1))
        self.lapses_on = max(dates) if dates else _NEVER

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"pathId": self.path_id, "met": self.met, "requirements": [r.to_api() for r in self.requirements]}
        if self.override is not None:
            out["override"] = True
            out["overrideReason"] = self.override.reason
            out["overrideExpiresOn"] = self.override.expires_on.isoformat()
        return out


@dataclass(slots=True)
class LevelResult:
    level: LevelName
    paths: tuple[PathResult, ...]
    override: Override | None
    met: bool = field(init=False)
    lapses_on: date | None = field(init=False)  # first day it stops being met; None when not met
    implied_by: str | None = field(init=False, default=None)  # a higher level met: it implies this one

    def __post_init__(self) -> None:
        self.met = self.override is not None or any(p.met for p in self.paths)
        if not self.met:
            self.lapses_on = None
            return
        dates = [p.lapses_on for p in self.paths if p.met]
        if self.override is not None:
            dates.append(self.override.expires_on + timedelta(days=1))
        self.lapses_on = max(dates)

    def imply(self, higher: LevelResult) -> None:
        """A higher level met implies this one (gold implies silver), until it lapses."""
        if not higher.met or higher.lapses_on is None:
            return
        if not self.met:
            self.met, self.lapses_on, self.implied_by = True, higher.lapses_on, higher.level
        elif self.lapses_on is not None and higher.lapses_on > self.lapses_on:
            self.lapses_on = higher.lapses_on

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "level": self.level,
            "met": self.met,
            "override": self.override is not None,
            "paths": [p.to_api() for p in self.paths],
        }
        if self.met and self.lapses_on is not None and self.lapses_on != _NEVER:
            out["expiresOn"] = (self.lapses_on - timedelta(days=1)).isoformat()  # the last day met, if nothing changes
        if self.implied_by is not None:
            out["impliedBy"] = self.implied_by
        if self.override is not None:
            out["overrideReason"] = self.override.reason
            out["overrideExpiresOn"] = self.override.expires_on.isoformat()
        return out

    def facts(self) -> LevelFacts:
        last = self.lapses_on - timedelta(days=1) if self.met and self.lapses_on is not None and self.lapses_on != _NEVER else None
        performance = tuple(
            PerformanceFacts(
                r.requirement.kind,
                r.requirement.description,
                _number(r.requirement.required),
                _number(r.current),
                r.met,
                r.lapses_on - timedelta(days=1) if r.met and r.lapses_on != _NEVER else None,
            )
            for p in self.paths
            for r in p.requirements
            if not r.requirement.is_skill
        )
        contributors = frozenset(u for p in self.paths for r in p.requirements for u in r.contributors)
        return LevelFacts(self.level, self.met, last, contributors, performance)


@dataclass(frozen=True)
class CompetencyResult:
    competency: Competency
    levels: tuple[LevelResult, ...]
    at_risk: bool
    earliest_expiry: date | None
    next_level: dict[str, str] | None
    single_points_of_failure: tuple[dict[str, str], ...]
    expiring: tuple[ExpiringAchievement, ...]

    @property
    def achieved_level(self) -> str:
        achieved = "none"
        for lv in self.levels:
            if lv.met:
                achieved = lv.level
        return achieved

    def to_api(self) -> dict[str, Any]:
        return {
            "competencyId": self.competency.competency_id,
            "name": self.competency.name,
            "achievedLevel": self.achieved_level,
            "levels": [lv.to_api() for lv in self.levels],
            "atRisk": self.at_risk,
            "earliestExpiry": self.earliest_expiry.isoformat() if self.earliest_expiry else None,
            "nextLevel": self.next_level,
            "singlePointsOfFailure": list(self.single_points_of_failure),
            "expiring": [e.to_api() for e in self.expiring],
        }

    def facts(self) -> CompetencyFacts:
        nxt = self.next_level
        return CompetencyFacts(
            self.competency.competency_id,
            self.competency.name,
            self.achieved_level,
            tuple(lv.facts() for lv in self.levels),
            NextLevel(nxt["level"], nxt["gap"]) if nxt else None,
        )


@dataclass(frozen=True)
class Evaluation:
    partner_id: str
    evaluated_at: datetime
    catalog_version: str
    competencies: tuple[CompetencyResult, ...]
    stable_until: date  # the same snapshot gives this same result on every day before it

    def to_api(self) -> dict[str, Any]:
        return {
            "partnerId": self.partner_id,
            "evaluatedAt": self.evaluated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "catalogVersion": self.catalog_version,
            "competencies": [c.to_api() for c in self.competencies],
        }

    def facts(self) -> EvaluationFacts:
        """What the rules read of it: ``EvaluationFacts.from_api(self.to_api())``, without the API shape."""
        return EvaluationFacts(
            self.evaluated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            tuple(c.facts() for c in self.competencies),
            tuple(e for c in self.competencies for e in c.expiring),
        )


def achieved_levels(evaluation: Mapping[str, Any] | None) -> dict[str, str]:
    """competencyId → achieved level, read from an evaluation in the API shape."""
    if not evaluation:
        return {}
    return {c["competencyId"]: c.get("achievedLevel", "none") for c in evaluation.get("competencies", [])}


# --- the engine -------------------------------------------------------------------------------


_DAY = timedelta(days=1)


def first_day_lapsed(expires_on: date | None, grace_ends: date | None) -> date:
    """The first day an achievement no longer counts: the day after its ``expiresOn`` (a last
    day), or ``grace_ends`` (the day after a retired exam's ``acceptedUntil``) when sooner;
    ``date.max`` when never. One rule for competencies and designations."""
    lapses = expires_on + _DAY if expires_on is not None and expires_on < _NEVER else _NEVER
    return grace_ends if grace_ends is not None and grace_ends < lapses else lapses


def _lapses_on(catalog: Catalog, achievement: Achievement) -> date:
    return first_day_lapsed(achievement.expires_on, catalog.grace_ends.get(achievement.code))


class _People:
    """The people who count on the date, with the codes they validly hold."""

    def __init__(self, catalog: Catalog, snapshot: PartnerSnapshot, on: date, lapse_days: Sequence[date]) -> None:
        by_msa = {p.msa_id: p for p in snapshot.people if p.active and p.msa_id}
        self.catalog = catalog
        self.names = {p.user_id: p.display_name for p in snapshot.people}
        self.codes: dict[str, dict[str, date]] = defaultdict(dict)  # user → code → lapses on
        for a, lapses in zip(snapshot.achievements, lapse_days, strict=True):
            person = by_msa.get(a.msa_id)
            if person is None or a.earned_on > on or lapses <= on:
                continue
            held = self.codes[person.user_id]
            held[a.code] = max(held.get(a.code, lapses), lapses)  # the longest-lasting of duplicates

        self.holders: dict[str, set[str]] = defaultdict(set)  # code → users
        for user_id, held in self.codes.items():
            for code in held:
                self.holders[code].add(user_id)
        self._ranked: dict[tuple[Any, ...], tuple[tuple[str, ...], list[date]]] = {}

    def keeping(self, user_id: str, code: str) -> _People:
        """The same people, with ``user_id`` still holding ``code`` (for "what if it had not
        lapsed"). A shallow copy: only that person's codes and that code's holders differ."""
        other = copy.copy(self)
        other.codes = defaultdict(dict, self.codes)
        other.codes[user_id] = {**self.codes.get(user_id, {}), code: _NEVER}
        other.holders = defaultdict(set, self.holders)
        other.holders[code] = self.holders.get(code, set()) | {user_id}
        other._ranked = {}
        return other

    def ranked(self, r: Requirement) -> tuple[tuple[str, ...], list[date]]:
        """Who qualifies for ``r`` (sorted) and the days their qualifications lapse (latest
        first). Memoised per code set: silver and gold, and several paths, often share one."""
        key = (r.all_of, r.any_of, r.any_of_sets)
        cached = self._ranked.get(key)
        if cached is None:
            qualifying = self._qualify(r)
            cached = self._ranked[key] = (tuple(sorted(qualifying)), sorted(qualifying.values(), reverse=True))
        return cached

    def _qualify(self, r: Requirement) -> dict[str, date]:
        """user → the day their qualification for ``r`` lapses, for everyone who qualifies."""
        out: dict[str, date] = {}
        if r.all_of:
            candidates = set.intersection(*(self.holders.get(c, set()) for c in r.all_of))
        elif r.any_of:
            candidates = set().union(*(self.holders.get(c, set()) for c in r.any_of))
        else:
            candidates = set().union(*(self.holders.get(s[0], set()) for s in r.any_of_sets))
        for user_id in candidates:
            lapses = qualification_lapses(r, self.codes[user_id])
            if lapses is not None:
                out[user_id] = lapses
        return out


def qualification_lapses(r: Requirement, codes: Mapping[str, date]) -> date | None:
    """The day a person holding ``codes`` (code → the day it lapses) stops qualifying for the
    skill requirement ``r``; None when they do not qualify."""
    if any(code not in codes for code in r.all_of):
        return None
    dates = [codes[c] for c in r.all_of]
    if r.any_of:
        any_dates = [codes[c] for c in r.any_of if c in codes]
        if not any_dates:
            return None
        dates.append(max(any_dates))
    if r.any_of_sets:
        set_dates = [min(codes[c] for c in s) for s in r.any_of_sets if all(c in codes for c in s)]
        if not set_dates:
            return None
        dates.append(max(set_dates))
    return min(dates)


def _add_months(day: date, months: int) -> date:
    """Calendar months later (earlier when negative), clamped to the month's last day."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


@lru_cache(maxsize=256)
def _months_before(on: date, months: int) -> date:
    return _add_months(on, -months)


@lru_cache(maxsize=4096)
def _leaves_window(as_of: date, months: int) -> date:
    """The first day a figure as of ``as_of`` is no longer in a trailing period of ``months``."""
    d = _add_months(as_of, months) - timedelta(days=4)
    while _months_before(d, months) < as_of:
        d += timedelta(days=1)
    return d


def _performance_lapses(r: Requirement, figures: Sequence[MetricFigure], on: date) -> date:
    """The first day a met performance requirement falls below ``required`` as its figures
    leave the trailing period, nothing new arriving; ``date.max`` when it never does. The
    figures come sorted by (asOf, value), and leave the period in that order."""
    start = _months_before(on, r.months)
    window = [f for f in figures if start < f.as_of <= on]
    if not window:
        return _NEVER
    if r.aggregate == "latest":
        return _leaves_window(window[-1].as_of, r.months)  # the newest figure holds until it leaves
    remaining = sum(f.value for f in window)
    for i, f in enumerate(window):
        remaining -= f.value
        if (i + 1 == len(window) or window[i + 1].as_of != f.as_of) and remaining < r.required:
            return _leaves_window(f.as_of, r.months)
    return _NEVER


def _performance(r: Requirement, figures: Sequence[MetricFigure], on: date) -> float:
    start = _months_before(on, r.months)
    window = [f for f in figures if start < f.as_of <= on]  # figures come sorted by (asOf, value)
    if not window:
        return 0.0
    if r.aggregate == "latest":
        return window[-1].value
    return sum(f.value for f in window)


def _override_for(overrides: Sequence[Override], competency_id: str, level: str, on: date) -> list[Override]:
    return sorted(
        (o for o in overrides if o.competency_id == competency_id and o.level == level and on <= o.expires_on),
        key=lambda o: (o.expires_on, o.override_id),
        reverse=True,
    )


def _requirement(
    r: Requirement, path_id: str, people: _People, figures: Mapping[str, Sequence[MetricFigure]], overrides: Sequence[Override], on: date
) -> RequirementResult:
    override = (
        next((o for o in overrides if o.requirement_id == r.requirement_id and o.path_id in (None, path_id)), None) if overrides else None
    )
    if r.is_skill:
        contributors, ranked = people.ranked(r)
        current: float = len(contributors)
        met = current >= r.required
        lapses = ranked[int(r.required) - 1] if met else on
    else:
        series = figures.get(r.kind, ())
        current = _performance(r, series, on)
        met = current >= r.required
        contributors = ()
        lapses = _performance_lapses(r, series, on) if met else on
    if override is not None and not met:
        return RequirementResult(r, current, True, True, contributors, override.expires_on + timedelta(days=1))
    return RequirementResult(r, current, met, False, contributors, lapses)


def _gap_words(r: RequirementResult) -> str:
    req = r.requirement
    missing = req.required - r.current
    if req.is_skill:
        n = int(missing)
        who = "individual" if n == 1 else "individuals"
        verb = "who passed" if req.kind == "assessedIndividuals" else "holding"
        parts = []
        if req.all_of:
            parts.append("all of " + ", ".join(req.all_of))
        if req.any_of:
            parts.append("one of " + ", ".join(req.any_of))
        if req.any_of_sets:
            parts.append("all of one of " + "; ".join(" + ".join(s) for s in req.any_of_sets))
        return f"{n} more {who} {verb} {' and '.join(parts)}"
    amount = f"{missing:,.0f}"
    return {
        "revenueUsd": f"USD {amount} more revenue",
        "activeUsage": f"{amount} more active users",
        "deployedSeats": f"{amount} more deployed seats",
        "newCustomers": f"{amount} more new customers",
    }[req.kind] + f" (trailing {req.months} months)"


def _next_level(levels: Sequence[LevelResult], achieved: str) -> dict[str, str] | None:
    target = next((lv for lv in levels if LEVEL_RANK[lv.level] == LEVEL_RANK[achieved] + 1), None)
    if target is None:
        return None
    options = []
    for p in target.paths:
        gaps = [_gap_words(r) for r in p.requirements if not r.met]
        if gaps:
            options.append(" and ".join(gaps))
    return {"level": target.level, "gap": "; or ".join(options)}


def _still_met_without(level: LevelResult, user_id: str) -> bool:
    if level.override is not None:
        return True
    for p in level.paths:
        if p.override is not None or all(
            r.override or (r.met and (user_id not in r.contributors or r.current - 1 >= r.requirement.required)) for r in p.requirements
        ):
            return True
    return False


def _levels(
    competency: Competency, people: _People, snapshot: PartnerSnapshot, figures: Mapping[str, Sequence[MetricFigure]], on: date
) -> list[LevelResult]:
    levels: list[LevelResult] = []
    for spec in competency.levels:
        overrides = _override_for(snapshot.overrides, competency.competency_id, spec.level, on)
        level_override = next((o for o in overrides if o.path_id is None and o.requirement_id is None), None)
        paths = tuple(
            PathResult(
                p.path_id,
                p.description,
                tuple(_requirement(r, p.path_id, people, figures, overrides, on) for r in p.requirements),
                next((o for o in overrides if o.path_id == p.path_id and o.requirement_id is None), None),
            )
            for p in spec.paths
        )
        levels.append(LevelResult(spec.level, paths, level_override))
    for lower, higher in zip(reversed(levels[:-1]), reversed(levels[1:]), strict=True):
        lower.imply(higher)  # gold implies silver: achieved, at risk, eligibility, alerts
    return levels


def _evaluate_competency(
    competency: Competency,
    people: _People,
    people_on: Callable[[date], _People],
    snapshot: PartnerSnapshot,
    figures: Mapping[str, Sequence[MetricFigure]],
    on: date,
    window_days: int,
) -> CompetencyResult:
    levels = _levels(competency, people, snapshot, figures, on)
    achieved = "none"
    for lv in levels:
        if lv.met:
            achieved = lv.level
    held = snapshot.held.get(competency.competency_id, "none")
    watched = [lv for lv in levels if LEVEL_RANK[lv.level] <= max(LEVEL_RANK[achieved], LEVEL_RANK[held]) and lv.met]
    lapse_dates = [d for d in (lv.lapses_on for lv in watched) if d is not None and d != _NEVER]
    earliest = min(lapse_dates) - timedelta(days=1) if lapse_dates else None  # the last day met, as expiresOn
    horizon = on + timedelta(days=window_days)
    # The level held, or achieved now when none is held yet: the first evaluation of a partner
    # sees the same risk as every later one (held levels are the previous achieved ones).
    held_level = next((lv for lv in levels if lv.level == (held if held != "none" else achieved)), None)
    at_risk = held_level is not None and (not held_level.met or (held_level.lapses_on is not None and held_level.lapses_on <= horizon))

    # Who the held (or achieved) level depends on: single points of failure and expiring holds.
    key_index = next((i for i, lv in enumerate(levels) if lv.level == (held if held != "none" else achieved)), None)
    spof: list[dict[str, str]] = []
    expiring: list[ExpiringAchievement] = []
    if key_index is not None and levels[key_index].met:
        key_level = levels[key_index]
        # The key level is met by its own paths or override, or by a higher level's (implied).
        supporting = [lv for lv in levels[key_index:] if lv.met]
        contributors = sorted({u for lv in supporting for p in lv.paths if p.met for r in p.requirements for u in r.contributors})
        for user_id in contributors:
            if not any(_still_met_without(lv, user_id) for lv in supporting):
                spof.append({"userId": user_id, "displayName": people.names.get(user_id, user_id), "level": key_level.level})
        lapses = key_level.lapses_on
        if lapses is not None and lapses != _NEVER and lapses <= horizon:
            expiring = _depended_on(competency, key_index, supporting, people, people_on(lapses), snapshot, lapses)
    return CompetencyResult(competency, tuple(levels), at_risk, earliest, _next_level(levels, achieved), tuple(spof), tuple(expiring))


def _depended_on(
    competency: Competency,
    key_index: int,
    supporting: Sequence[LevelResult],
    people: _People,
    people_then: _People,
    snapshot: PartnerSnapshot,
    lapses: date,
) -> list[ExpiringAchievement]:
    """The achievements whose lapse ends the key level: each lapses on the level's lapse day,
    and had it not lapsed (all else as scheduled) the level would still be met that day."""
    candidates = sorted(
        {
            (user_id, code)
            for lv in supporting
            for p in lv.paths
            if p.met
            for r in p.requirements
            if r.requirement.is_skill
            for user_id in r.contributors
            for code in r.requirement.sorted_codes
            if people.codes.get(user_id, {}).get(code) == lapses
        }
    )
    if not candidates:
        return []
    figures_then: dict[str, list[MetricFigure]] = defaultdict(list)
    for f in sorted(snapshot.metrics, key=lambda f: (f.as_of, f.value)):
        if f.competency_id == competency.competency_id:
            figures_then[f.metric].append(f)
    key = competency.levels[key_index].level
    last = lapses - timedelta(days=1)
    out: list[ExpiringAchievement] = []
    for user_id, code in candidates:
        if not _levels(competency, people_then.keeping(user_id, code), snapshot, figures_then, lapses)[key_index].met:
            continue
        exam = people.catalog.exam_by_code.get(code)
        # A retired exam whose grace ends that day: accepted until then, not expiring.
        accepted = last if exam is not None and exam.accepted_until == last else None
        out.append(ExpiringAchievement(competency.competency_id, key, user_id, code, last, accepted))
    out.sort(key=lambda e: (e.expires_on, e.user_id, e.code))
    return out


def evaluate(catalog: Catalog, snapshot: PartnerSnapshot, on: date, *, evaluated_at: datetime, alert_window_days: int = 60) -> Evaluation:
    lapse_days = [_lapses_on(catalog, a) for a in snapshot.achievements]
    people = _People(catalog, snapshot, on, lapse_days)
    later: dict[date, _People] = {}

    def people_on(day: date) -> _People:
        if day not in later:
            later[day] = _People(catalog, snapshot, day, lapse_days)
        return later[day]

    figures: dict[str, dict[str, list[MetricFigure]]] = defaultdict(lambda: defaultdict(list))
    for f in sorted(snapshot.metrics, key=lambda f: (f.as_of, f.value)):
        figures[f.competency_id][f.metric].append(f)
    results = [
        _evaluate_competency(competency, people, people_on, snapshot, figures.get(competency.competency_id, {}), on, alert_window_days)
        for competency in catalog.competencies
    ]
    return Evaluation(
        snapshot.partner_id,
        evaluated_at,
        catalog.catalog_version,
        tuple(results),
        stable_until(catalog, snapshot, on, alert_window_days, lapse_days),
    )


def stable_until(
    catalog: Catalog, snapshot: PartnerSnapshot, on: date, alert_window_days: int, lapse_days: Sequence[date] | None = None
) -> date:
    """The first day after ``on`` on which evaluating the same snapshot could give another
    result: an achievement is earned, lapses or enters the alert window; a figure enters or
    leaves its trailing period, or its leaving enters the window; an override ends or enters
    the window. Every input that moves with the calendar is listed here (a property test
    holds it to that)."""
    window = timedelta(days=alert_window_days)
    candidates: list[date] = []
    if lapse_days is None:
        lapse_days = [_lapses_on(catalog, a) for a in snapshot.achievements]
    for a, lapses in zip(snapshot.achievements, lapse_days, strict=True):
        candidates.append(a.earned_on)
        if lapses != _NEVER:
            candidates += [lapses, lapses - window]
    for f in snapshot.metrics:
        candidates.append(f.as_of)
        for months in catalog.performance_periods:
            leaves = _leaves_window(f.as_of, months)
            candidates += [leaves, leaves - window]  # a foreseen performance lapse enters the window
    for o in snapshot.overrides:
        ends = o.expires_on + timedelta(days=1)
        candidates += [ends, ends - window]
    return min((d for d in candidates if d > on), default=_NEVER)


__all__ = [
    "LEVELS",
    "PERFORMANCE_KINDS",
    "SKILL_KINDS",
    "Achievement",
    "CompetencyFacts",
    "Evaluation",
    "EvaluationFacts",
    "ExpiringAchievement",
    "LevelFacts",
    "MetricFigure",
    "NextLevel",
    "Override",
    "PartnerSnapshot",
    "PerformanceFacts",
    "Person",
    "evaluate",
]
