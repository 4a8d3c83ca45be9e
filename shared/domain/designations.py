"""Solutions Partner designations scored by the partner capability score (PCS).

The catalog is data (``shared/catalog/designations.json`` and ``designations/*.json``): per
designation its solution area, tracks, and metrics in three categories (performance,
skilling, customer success) with their points, maximum, eligibility thresholds and the
associations that attribute a customer (CSP, DPOR, PAL, CPOR; never DAP/GDAP).

The engine is pure and deterministic: (catalog, one partner's snapshot, date) → the score of
every designation and track. Rules (CAPABILITY_FACTS.md §2-4):

- points per metric in whole increments (``unit``), ``maxPoints / unitsForMax`` each, capped
  at the metric's maximum; a score is the sum, at most 100;
- a track qualifies with a score of at least 70 and every metric above zero; a designation
  on any day of its qualification window (the current month plus the five previous full
  calendar months; for an enrolled designation the anniversary month and the five before);
- the higher track counts (``highest``), or the track is assigned from the customer base
  (``assigned``: Business Applications' Enterprise rule);
- a person counts once per metric, while active, linked, and holding a certification valid
  on the day (linking, expiry and retirement grace as for competencies); gated
  prerequisite steps give no points but a metric scores nothing until they are met;
- customer facts are monthly; the reference month is the newest month fed, at most two
  calendar months back, and comparisons are with the same month a year earlier.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from shared.domain.alert_rules import Alert, alert_id
from shared.domain.catalog import SHIPPED_CATALOG, CatalogError, Exam, _fields, _read
from shared.domain.catalog import plain_number as _number
from shared.domain.evaluation import Achievement, Person, first_day_lapsed
from shared.domain.membership import RENEWAL_WINDOW, YEAR

QUALIFYING_SCORE = 70.0
MAX_SCORE = 100.0
WINDOW_MONTHS = 5  # full calendar months before the current (or anniversary) month
PROJECTION_MONTHS = 12
Quantity = Literal["revenueUsd", "paidSeats", "activeUsers", "mcv"]
Status = Literal["inProgress", "qualified", "enrolled", "enrolledRenewalDue"]
STATUSES = ("inProgress", "qualified", "enrolled", "enrolledRenewalDue")
_ID = r"^[a-z0-9][a-z0-9-]{0,63}$"
_NEVER = date.max


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class Prerequisite(_Model):
    """A gated step: so many people holding one of the codes, worth no points by itself."""

    any_of: tuple[str, ...] = Field(min_length=1)
    required: int = Field(ge=1)
    required_from: dict[date, int] = {}  # a later rule raises the count from that day
    description: str = Field(min_length=1)

    def required_on(self, on: date) -> int:
        later = [n for day, n in sorted(self.required_from.items()) if day <= on]
        return later[-1] if later else self.required


class Filter(_Model):
    workloads: str = Field(min_length=1)  # a workload group of the catalog
    associations: tuple[str, ...] = Field(min_length=1)


class Source(_Model):
    """One way a customer metric is measured; a metric combines its sources."""

    source_id: str = Field(pattern=_ID)
    label: str = Field(min_length=1)  # what one unit is, in words ("net customer adds")
    from_: tuple[Filter, ...] = Field(alias="from", min_length=1)
    count: Literal["tenants", "workloads", "tenantWorkloads", "total"]
    quantity: Quantity
    months: int = Field(ge=1, le=12)  # the months looked at, ending with the reference month
    aggregate: Literal["anyMonth", "sum"] = "anyMonth"  # eligible in any one month, or on the sum
    sum_workloads: bool = True  # a tenant's workloads are added up (else one workload must pass)
    at_least: float | None = None
    at_most: float | None = None
    above: float | None = None
    active_share_at_least: float | None = Field(default=None, gt=0, le=1)  # active users / paid seats
    compare: Literal["net", "current", "growth", "growthPercent"]
    min_base: float = Field(default=0, ge=0)  # growthPercent: the year-earlier figure needed to score
    unit: float = Field(default=1, gt=0)  # one increment of points
    units_for_max: float = Field(gt=0)  # increments that give the metric's maximum

    def passes(self, value: float) -> bool:
        return (
            (self.at_least is None or value >= self.at_least)
            and (self.at_most is None or value <= self.at_most)
            and (self.above is None or value > self.above)
        )


class Metric(_Model):
    metric_id: str = Field(pattern=_ID)
    name: str = Field(min_length=1)
    category: Literal["performance", "skilling", "customerSuccess"]
    max_points: float = Field(gt=0, le=MAX_SCORE)
    kind: Literal["certifiedPeople", "customers"]
    description: str = Field(min_length=1)
    units_for_max: float | None = Field(default=None, gt=0)  # certifiedPeople: people for the maximum
    prerequisites: tuple[Prerequisite, ...] = ()
    any_of: tuple[str, ...] = ()
    sources: tuple[Source, ...] = ()
    combine: Literal["sum", "max"] = "sum"

    @model_validator(mode="after")
    def _shape(self) -> Metric:
        if self.kind == "certifiedPeople":
            if not self.any_of or self.units_for_max is None or self.sources:
                raise ValueError("a certifiedPeople metric needs anyOf and unitsForMax, and no sources")
        elif not self.sources or self.any_of or self.prerequisites:
            raise ValueError("a customers metric needs sources, and no anyOf or prerequisites")
        return self

    @cached_property
    def codes(self) -> frozenset[str]:
        return frozenset(self.any_of).union(*(p.any_of for p in self.prerequisites))


class Track(_Model):
    track_id: str = Field(pattern=_ID)
    name: str = Field(min_length=1)
    metrics: tuple[Metric, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _points(self) -> Track:
        ids = [m.metric_id for m in self.metrics]
        if len(ids) != len(set(ids)):
            raise ValueError("metricId values must be unique within a track")
        total = sum(m.max_points for m in self.metrics)
        if abs(total - MAX_SCORE) > 1e-6:
            raise ValueError(f"the metrics' maxPoints add up to {total:g}, not 100")
        return self


class TrackRule(_Model):
    rule: Literal["highest", "assigned"]
    description: str | None = None
    enterprise_track: str | None = None
    otherwise_track: str | None = None
    workloads_at_least: int | None = Field(default=None, ge=1)
    revenue_above: float | None = Field(default=None, ge=0)
    from_: tuple[Filter, ...] = Field(default=(), alias="from")

    @model_validator(mode="after")
    def _assigned(self) -> TrackRule:
        if self.rule == "assigned" and (
            not self.enterprise_track
            or not self.otherwise_track
            or self.workloads_at_least is None
            or self.revenue_above is None
            or not self.from_
        ):
            raise ValueError("an assigned track rule needs enterpriseTrack, otherwiseTrack, workloadsAtLeast, revenueAbove and from")
        return self


class Designation(_Model):
    designation_id: str = Field(pattern=_ID)
    name: str = Field(min_length=1)
    solution_area: str = Field(min_length=1)
    source: str = Field(min_length=1, description="The program page the tables come from.")
    source_date: date
    track_rule: TrackRule
    tracks: tuple[Track, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _tracks(self) -> Designation:
        ids = [t.track_id for t in self.tracks]
        if len(ids) != len(set(ids)):
            raise ValueError("trackId values must be unique")
        rule = self.track_rule
        if rule.rule == "assigned" and {rule.enterprise_track, rule.otherwise_track} - set(ids):
            raise ValueError("the track rule names a track the designation does not have")
        return self

    def track(self, track_id: str) -> Track:
        return next(t for t in self.tracks if t.track_id == track_id)

    def to_api(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class Workload(_Model):
    workload: str = Field(pattern=_ID)
    title: str = Field(min_length=1)
    groups: tuple[str, ...] = Field(min_length=1)
    mcv_per_active_user: float | None = Field(default=None, ge=0)  # the MCV rate card


class DesignationCatalog(_Model):
    designations_version: str = Field(min_length=1, max_length=32)
    source: str = Field(min_length=1)
    designations: tuple[Designation, ...]
    associations: tuple[str, ...] = Field(min_length=1)
    refused_associations: tuple[str, ...] = ()
    certifications: tuple[Exam, ...]
    workloads: tuple[Workload, ...]

    @cached_property
    def by_id(self) -> dict[str, Designation]:
        return {d.designation_id: d for d in self.designations}

    @cached_property
    def exam_by_code(self) -> dict[str, Exam]:
        return {e.code: e for e in self.certifications}

    @cached_property
    def workload_by_id(self) -> dict[str, Workload]:
        return {w.workload: w for w in self.workloads}

    @cached_property
    def groups(self) -> dict[str, frozenset[str]]:
        members: dict[str, set[str]] = defaultdict(set)
        for w in self.workloads:
            for g in w.groups:
                members[g].add(w.workload)
        return {g: frozenset(ws) for g, ws in members.items()}

    @cached_property
    def codes(self) -> frozenset[str]:
        return frozenset(self.exam_by_code)

    @cached_property
    def digest(self) -> str:
        return hashlib.sha1(self.model_dump_json(by_alias=True).encode(), usedforsecurity=False).hexdigest()[:16]

    def to_api(self) -> dict[str, Any]:
        return {
            "designationsVersion": self.designations_version,
            "source": self.source,
            "designations": [d.to_api() for d in self.designations],
            "associations": list(self.associations),
            "certifications": [e.model_dump(mode="json", by_alias=True, exclude_none=True) for e in self.certifications],
            "workloads": [w.model_dump(mode="json", by_alias=True, exclude_none=True) for w in self.workloads],
        }


def load_designations(folder: Path | None = None) -> DesignationCatalog:
    """``designations.json`` of ``folder`` when it has one, else the shipped designations."""
    if folder is None or not (folder / "designations.json").exists():
        folder = SHIPPED_CATALOG
    index_path = folder / "designations.json"
    index = _read(index_path)
    if not isinstance(index, dict) or not isinstance(index.get("designations"), list):
        raise CatalogError(f"{index_path}: designations must list the designation files")
    designations = []
    for name in index["designations"]:
        path = folder / str(name)
        try:
            designations.append(Designation.model_validate(_read(path)))
        except ValidationError as exc:
            raise _fields(path, exc) from None
    try:
        catalog = DesignationCatalog.model_validate({**index, "designations": designations})
    except ValidationError as exc:
        raise _fields(index_path, exc) from None
    if len(catalog.by_id) != len(catalog.designations):
        raise CatalogError(f"{index_path}: designationId values must be unique")
    for designation, name in zip(catalog.designations, index["designations"], strict=True):
        where = folder / str(name)
        filters = list(designation.track_rule.from_)
        for track in designation.tracks:
            for m in track.metrics:
                unknown = sorted(m.codes - catalog.codes)
                if unknown:
                    raise CatalogError(
                        f"{where}: {track.track_id}.{m.metric_id}: unknown codes {', '.join(unknown)} (list them in designations.json)"
                    )
                filters += [f for s in m.sources for f in s.from_]
        for f in filters:
            if f.workloads not in catalog.groups:
                raise CatalogError(f"{where}: unknown workload group {f.workloads}")
            if set(f.associations) - set(catalog.associations):
                raise CatalogError(f"{where}: unknown associations {', '.join(sorted(set(f.associations) - set(catalog.associations)))}")
    return catalog


# --- inputs ------------------------------------------------------------------------------------


def month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def month_name(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def parse_month(text: str) -> int:
    year, month = text.split("-")
    return int(year) * 12 + int(month) - 1


def first_day(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def last_day(index: int) -> date:
    return first_day(index + 1) - timedelta(days=1)


class CustomerFact(NamedTuple):
    """One month of one customer tenant's workload, attributed through one association."""

    month: int  # month_index
    tenant: str
    workload: str
    association: str
    revenue_usd: float = 0.0  # revenue or ACR
    paid_seats: float = 0.0
    active_users: float = 0.0  # monthly active users (or profiles)
    mcv: float | None = None  # monthly consumption value; from the rate card when absent


@dataclass(frozen=True)
class Enrolment:
    """The Solutions Partner membership: one anniversary shared by the enrolled designations.
    A designation not renewed at an anniversary keeps the old one (``renewed``) and lapses
    30 days after it."""

    anniversary: date
    designations: Mapping[str, date]  # designationId → enrolled on
    renewed: Mapping[str, date] = field(default_factory=dict)  # designationId → its anniversary, when not the shared one

    def anniversary_of(self, designation_id: str) -> date:
        return self.renewed.get(designation_id, self.anniversary)


class MonthRecord(NamedTuple):
    highest_score: float
    qualified_on: date | None


@dataclass(frozen=True)
class DesignationSnapshot:
    partner_id: str
    people: Sequence[Person] = ()
    achievements: Sequence[Achievement] = ()
    facts: Sequence[CustomerFact] = ()
    enrolment: Enrolment | None = None
    history: Mapping[str, Mapping[str, MonthRecord]] = field(default_factory=dict)  # "YYYY-MM" → designation → record


# --- the people and the facts, indexed once per evaluation --------------------------------------


def lapses_on(exams: Mapping[str, Exam], a: Achievement) -> date:
    """The first day a certification no longer counts, by the competencies' rule: the day after
    its ``expiresOn`` or after a retired certification's grace (``acceptedUntil``)."""
    exam = exams.get(a.code)
    grace = exam.accepted_until + timedelta(days=1) if exam is not None and exam.accepted_until is not None else None
    return first_day_lapsed(a.expires_on, grace)


class _Holdings:
    """Who holds which designation code, over time: user → code → [(earned, lapses)]."""

    def __init__(self, catalog: DesignationCatalog, people: Sequence[Person], achievements: Sequence[Achievement]) -> None:
        by_msa = {p.msa_id: p for p in people if p.active and p.msa_id}
        self.names = {p.user_id: p.display_name for p in people}
        self.spans: dict[str, dict[str, list[tuple[date, date]]]] = defaultdict(lambda: defaultdict(list))
        codes = catalog.codes
        for a in achievements:
            person = by_msa.get(a.msa_id)
            if person is None or a.code not in codes:
                continue
            lapses = lapses_on(catalog.exam_by_code, a)
            if lapses > a.earned_on:
                self.spans[person.user_id][a.code].append((a.earned_on, lapses))

    def on(self, day: date) -> dict[str, dict[str, date]]:
        """code → user → the day that holding lapses, for holdings valid on ``day``."""
        out: dict[str, dict[str, date]] = defaultdict(dict)
        for user_id, by_code in self.spans.items():
            for code, spans in by_code.items():
                valid = [lapses for earned, lapses in spans if earned <= day < lapses]
                if valid:
                    out[code][user_id] = max(valid)
        return out

    def change_days(self) -> set[date]:
        return {d for by_code in self.spans.values() for spans in by_code.values() for span in spans for d in span}


Lost = tuple[str, int] | None  # a customer tenant lost from that month on


class _Facts:
    """The customer facts by month, with the MCV filled from the rate card."""

    def __init__(self, catalog: DesignationCatalog, facts: Iterable[CustomerFact]) -> None:
        self.by_month: dict[int, list[CustomerFact]] = defaultdict(list)
        for f in facts:
            if f.mcv is None:
                w = catalog.workload_by_id.get(f.workload)
                rate = w.mcv_per_active_user if w is not None and w.mcv_per_active_user is not None else 0.0
                f = f._replace(mcv=f.active_users * rate)
            self.by_month[f.month].append(f)
        self.newest = max(self.by_month, default=None)
        self._groups = catalog.groups

    def reference_month(self, on: date) -> int:
        return _reference_month(self.by_month, on)

    def matching(self, filters: Sequence[Filter], months: range, without: Lost = None) -> Iterable[CustomerFact]:
        if not self.by_month:
            return
        allowed = [(self._groups.get(f.workloads, frozenset()), frozenset(f.associations)) for f in filters]
        for m in months:
            for fact in self.by_month.get(m, ()):
                if without is not None and fact.tenant == without[0] and m >= without[1]:
                    continue
                if any(fact.workload in ws and fact.association in assoc for ws, assoc in allowed):
                    yield fact

    def projected(self, reference: int, months: int) -> _Facts:
        """ "If nothing changes": the reference month's facts repeat in the months after it."""
        copy = object.__new__(_Facts)
        copy.by_month = defaultdict(list, {m: fs for m, fs in self.by_month.items() if m <= reference})
        for k in range(1, months + 1):
            copy.by_month[reference + k] = [f._replace(month=reference + k) for f in self.by_month.get(reference, ())]
        copy.newest = reference + months
        copy._groups = self._groups
        return copy


def _reference_month(months: Iterable[int], on: date) -> int:
    """The newest month fed, at most two calendar months before ``on``'s month."""
    previous = month_index(on) - 1
    fed = max((m for m in months if m <= previous), default=None)
    return fed if fed is not None and fed >= previous - 1 else previous - 1


def reference_month(facts: Iterable[CustomerFact], on: date) -> int:
    """The month customer metrics are measured in on ``on``."""
    return _reference_month({f.month for f in facts}, on)


def _value(fact: CustomerFact, quantity: str) -> float:
    if quantity == "revenueUsd":
        return fact.revenue_usd
    if quantity == "paidSeats":
        return fact.paid_seats
    if quantity == "activeUsers":
        return fact.active_users
    return fact.mcv or 0.0


# --- scoring ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceScore:
    source: Source
    current: float  # the counted or measured quantity (net adds, growth, ...)
    points: float
    tenants: frozenset[str]  # the customers counted now

    def to_api(self) -> dict[str, Any]:
        s = self.source
        return {
            "sourceId": s.source_id,
            "label": s.label,
            "current": _number(self.current),
            "threshold": _number(s.units_for_max * s.unit),
            "points": _number(self.points),
        }


@dataclass(frozen=True)
class MetricScore:
    metric: Metric
    points: float
    current: float
    threshold: float
    sources: tuple[SourceScore, ...] = ()
    contributors: frozenset[str] = frozenset()  # people (skilling) whose certifications count
    prerequisites: tuple[tuple[Prerequisite, int, int], ...] = ()  # (step, have, need)

    def to_api(self) -> dict[str, Any]:
        m = self.metric
        out: dict[str, Any] = {
            "metricId": m.metric_id,
            "name": m.name,
            "category": m.category,
            "points": _number(self.points),
            "maxPoints": _number(m.max_points),
            "current": _number(self.current),
            "threshold": _number(self.threshold),
        }
        if len(self.sources) > 1:
            out["sources"] = [s.to_api() for s in self.sources]
        if self.prerequisites:
            out["prerequisites"] = [
                {"description": p.description, "current": have, "required": need} for p, have, need in self.prerequisites
            ]
        if m.kind == "certifiedPeople":
            out["contributors"] = sorted(self.contributors)
        return out


@dataclass(frozen=True)
class TrackScore:
    track: Track
    metrics: tuple[MetricScore, ...]

    @cached_property
    def score(self) -> float:
        return round(min(MAX_SCORE, sum(m.points for m in self.metrics)), 2)

    @cached_property
    def qualifies(self) -> bool:
        return self.score >= QUALIFYING_SCORE and all(m.points > 0 for m in self.metrics)

    def to_api(self) -> dict[str, Any]:
        return {
            "trackId": self.track.track_id,
            "name": self.track.name,
            "score": _number(self.score),
            "qualifies": self.qualifies,
            "metrics": [m.to_api() for m in self.metrics],
        }


def _points(max_points: float, units_for_max: float, unit: float, quantity: float) -> float:
    if quantity <= 0:
        return 0.0
    increments = math.floor(quantity / unit + 1e-9)
    return round(min(max_points, increments * max_points / units_for_max), 2)


def _eligible_keys(source: Source, facts: _Facts, reference: int, without: Lost) -> dict[tuple[str, ...], str]:
    """The keys (tenant, workload or both) eligible in the months ending ``reference`` → tenant."""
    months = range(reference - source.months + 1, reference + 1)
    per_key: dict[tuple[str, ...], dict[int, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0.0, 0.0]))
    tenant_of: dict[tuple[str, ...], str] = {}
    count = source.count
    for fact in facts.matching(source.from_, months, without):
        if count == "workloads":
            key: tuple[str, ...] = (fact.workload,)
        elif count == "tenantWorkloads" or not source.sum_workloads:
            key = (fact.tenant, fact.workload)
        else:
            key = (fact.tenant,)
        tenant_of.setdefault(key, fact.tenant)
        cell = per_key[key][fact.month]
        cell[0] += _value(fact, source.quantity)
        cell[1] += fact.paid_seats
        cell[2] += fact.active_users
    eligible: dict[tuple[str, ...], str] = {}
    share = source.active_share_at_least
    for key, by_month in per_key.items():
        cells = list(by_month.values()) if source.aggregate == "anyMonth" else [[sum(c[i] for c in by_month.values()) for i in range(3)]]
        if any(source.passes(v) and (share is None or (seats > 0 and active / seats >= share)) for v, seats, active in cells):
            eligible[key] = tenant_of[key]
    if count == "tenants" and not source.sum_workloads:
        return {(tenant,): tenant for tenant in eligible.values()}  # a tenant counts once
    return eligible


def _source_score(source: Source, max_points: float, facts: _Facts, reference: int, without: Lost = None) -> SourceScore:
    if source.count == "total":

        def total(ref: int) -> float:
            return sum(_value(f, source.quantity) for f in facts.matching(source.from_, range(ref - source.months + 1, ref + 1), without))

        now, before = total(reference), total(reference - 12)
        tenants = frozenset(f.tenant for f in facts.matching(source.from_, range(reference - source.months + 1, reference + 1), without))
        if source.compare == "growthPercent":
            current = (now - before) * 100 / before if before > 0 and before >= source.min_base else 0.0
        elif source.compare == "growth":
            current = now - before
        else:
            current = now
    else:
        eligible_now = _eligible_keys(source, facts, reference, without)
        tenants = frozenset(eligible_now.values())
        current = float(len(eligible_now))
        if source.compare == "net":
            current -= len(_eligible_keys(source, facts, reference - 12, without))
    return SourceScore(source, round(current, 2), _points(max_points, source.units_for_max, source.unit, current), tenants)


def _customer_metric(metric: Metric, facts: _Facts, reference: int, without: Lost = None) -> MetricScore:
    sources = tuple(_source_score(s, metric.max_points, facts, reference, without) for s in metric.sources)
    raw = max(s.points for s in sources) if metric.combine == "max" else sum(s.points for s in sources)
    best = max(sources, key=lambda s: s.points)  # first of equals
    return MetricScore(
        metric,
        round(min(metric.max_points, raw), 2),
        best.current,
        best.source.units_for_max * best.source.unit,
        sources,
    )


def _people_metric(metric: Metric, held: Mapping[str, Mapping[str, date]], on: date, without: str | None = None) -> MetricScore:
    def holders(codes: Iterable[str]) -> set[str]:
        found: set[str] = set().union(*(held.get(c, {}).keys() for c in codes))
        found.discard(without or "")
        return found

    steps = []
    contributors: set[str] = set()
    for p in metric.prerequisites:
        who = holders(p.any_of)
        contributors |= who
        steps.append((p, len(who), p.required_on(on)))
    scorers = holders(metric.any_of)
    contributors |= scorers
    assert metric.units_for_max is not None
    gated = any(have < need for _, have, need in steps)
    points = 0.0 if gated else _points(metric.max_points, metric.units_for_max, 1, len(scorers))
    return MetricScore(metric, points, len(scorers), metric.units_for_max, (), frozenset(contributors), tuple(steps))


def score_track(
    track: Track,
    held: Mapping[str, Mapping[str, date]],
    facts: _Facts,
    reference: int,
    on: date,
    *,
    without_user: str | None = None,
    without_tenant: str | None = None,
) -> TrackScore:
    metrics = tuple(
        _people_metric(m, held, on, without_user)
        if m.kind == "certifiedPeople"
        else _customer_metric(m, facts, reference, (without_tenant, reference - 11) if without_tenant else None)
        for m in track.metrics
    )
    return TrackScore(track, metrics)


def _assigned_track(designation: Designation, facts: _Facts, reference: int) -> tuple[str, str]:
    rule = designation.track_rule
    assert rule.workloads_at_least is not None and rule.revenue_above is not None
    assert rule.enterprise_track is not None and rule.otherwise_track is not None

    above = rule.revenue_above

    def big(month: int) -> set[str]:
        revenue: dict[tuple[str, str], float] = defaultdict(float)
        for f in facts.matching(rule.from_, range(month, month + 1)):
            revenue[(f.tenant, f.workload)] += f.revenue_usd
        return {workload for (_, workload), usd in revenue.items() if usd > above}

    workloads = big(reference) & big(reference - 12)
    enterprise = len(workloads) >= rule.workloads_at_least
    track = rule.enterprise_track if enterprise else rule.otherwise_track
    words = (
        f"{len(workloads)} workload{'s' if len(workloads) != 1 else ''} had more than USD {rule.revenue_above:,.0f} revenue per customer "
        f"tenant in both {month_name(reference)} and {month_name(reference - 12)}; "
        + (
            f"at least {rule.workloads_at_least} make the Enterprise track"
            if enterprise
            else f"the Enterprise track needs {rule.workloads_at_least}"
        )
    )
    return track, f"{designation.track(track).name} (assigned): {words}"


def choose_track(designation: Designation, scores: Sequence[TrackScore], facts: _Facts, reference: int) -> tuple[TrackScore, str]:
    if designation.track_rule.rule == "assigned":
        track_id, why = _assigned_track(designation, facts, reference)
        return next(s for s in scores if s.track.track_id == track_id), why
    best = max(scores, key=lambda s: s.score)  # the first of equal scores
    if len(scores) == 1:
        return best, "The designation has one track."
    others = ", ".join(f"{s.track.name} {_number(s.score)}" for s in scores if s is not best)
    return best, f"{best.track.name} scores {_number(best.score)} against {others}: the higher track score counts."


# --- window, status, history --------------------------------------------------------------------


def qualification_window(on: date, anniversary: date | None = None) -> tuple[date, date]:
    """Not enrolled: the first day of the fifth full month before ``on``'s, to ``on``.
    Enrolled: the anniversary month and the five full months before it."""
    if anniversary is None:
        return first_day(month_index(on) - WINDOW_MONTHS), on
    return first_day(month_index(anniversary) - WINDOW_MONTHS), last_day(month_index(anniversary))


def enrolled_anniversary(enrolment: Enrolment | None, designation_id: str, on: date) -> date | None:
    """The anniversary that governs an enrolled designation on ``on`` (None: not enrolled)."""
    if enrolment is None or designation_id not in enrolment.designations or enrolment.designations[designation_id] > on:
        return None
    anniversary = enrolment.anniversary_of(designation_id)
    if on >= anniversary + RENEWAL_WINDOW:
        return None  # not renewed: the enrolment lapsed
    return anniversary


def qualified_on(
    history: Mapping[str, Mapping[str, MonthRecord]], designation_id: str, window: tuple[date, date], today: date | None
) -> date | None:
    """The first day in the window the designation qualified (``today`` when it does now)."""
    days = [r.qualified_on for m in history.values() if (r := m.get(designation_id)) is not None and r.qualified_on is not None]
    if today is not None:
        days.append(today)
    inside = [d for d in days if window[0] <= d <= window[1]]
    return min(inside) if inside else None


def status(enrolment: Enrolment | None, designation_id: str, on: date, qualified: date | None) -> Status:
    anniversary = enrolled_anniversary(enrolment, designation_id, on)
    if anniversary is not None:
        return "enrolled" if on < anniversary else "enrolledRenewalDue"
    return "qualified" if qualified is not None else "inProgress"


def record_day(
    history: Mapping[str, Mapping[str, MonthRecord]], scores: Mapping[str, TrackScore], on: date, keep_months: int = 13
) -> dict[str, dict[str, MonthRecord]]:
    """The monthly history with ``on``'s scores: the month's highest score and its first
    qualifying day per designation; months older than ``keep_months`` dropped."""
    month = month_name(month_index(on))
    oldest = month_name(month_index(on) - keep_months + 1)
    out = {m: dict(records) for m, records in history.items() if m >= oldest}
    current = out.setdefault(month, {})
    for designation_id, best in scores.items():
        before = current.get(designation_id)
        highest = max(best.score, before.highest_score) if before else best.score
        first = before.qualified_on if before and before.qualified_on else (on if best.qualifies else None)
        current[designation_id] = MonthRecord(highest, first)
    return out


def six_months(history: Mapping[str, Mapping[str, MonthRecord]], designation_id: str, on: date) -> list[dict[str, Any]]:
    out = []
    for m in range(month_index(on) - 5, month_index(on) + 1):
        record = history.get(month_name(m), {}).get(designation_id)
        out.append({"month": month_name(m), "highestScore": _number(record.highest_score) if record else None})
    return out


# --- words ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Option:
    """One way to raise a metric: ``first`` more of a quantity gives ``per`` points, and each
    further ``unit`` another ``per``, up to ``room``."""

    per: float
    first: float
    unit: float
    label: str
    room: float
    metric: str
    metric_id: str
    once: str | None = None  # a one-off step (a prerequisite) in words
    next_per: float | None = None  # after the one-off step, points per further step

    def take(self, wanted: float, room: float) -> tuple[float, str]:
        """The fewest steps that give ``wanted`` points (at least one), within ``room``."""
        if self.once is not None:
            gain = round(min(room, self.per), 2)
            return gain, f"{self.once} give{'s' if self.once.startswith('1 ') else ''} {_points_words(gain)} ({self.metric})"
        steps = max(1, min(math.ceil(room / self.per - 1e-3), math.ceil(wanted / self.per - 1e-3)))
        amount = round(self.first + (steps - 1) * self.unit, 2)
        gain = round(min(room, steps * self.per), 2)
        label = self.label if amount != 1 else " ".join(_SINGULAR.get(word, word) for word in self.label.split(" "))
        return gain, f"{_number(amount)} more {label} {'gives' if amount == 1 else 'give'} {_points_words(gain)} ({self.metric})"


def _points_words(points: float) -> str:
    return f"{_number(points)} point{'' if points == 1 else 's'}"


_SINGULAR = {"people": "person", "adds": "add", "deployments": "deployment", "customers": "customer", "users": "user", "points": "point"}


def _options(metric: MetricScore) -> list[_Option]:
    m = metric.metric
    room = round(m.max_points - metric.points, 2)
    if room <= 0:
        return []
    name = m.name.lower()
    if m.kind == "certifiedPeople":
        assert m.units_for_max is not None
        per = m.max_points / m.units_for_max
        label = f"people holding one of {', '.join(m.any_of)}"
        missing = [(p, need - have) for p, have, need in metric.prerequisites if have < need]
        if missing:
            steps = " and ".join(
                f"{n} more {'person' if n == 1 else 'people'} holding {' or '.join(p.any_of)} (prerequisite)" for p, n in missing
            )
            if not metric.current:
                steps += f" and 1 person holding one of {', '.join(m.any_of)}"
            return [_Option(per * max(1.0, metric.current), 1, 1, label, room, name, m.metric_id, once=steps, next_per=per)]
        return [_Option(per, 1, 1, label, room, name, m.metric_id)]
    out = []
    for s, scored in zip(m.sources, metric.sources, strict=True):
        current = scored.current
        target = (math.floor(current / s.unit + 1e-9) + 1) if current > 0 else 1
        out.append(_Option(m.max_points / s.units_for_max, target * s.unit - current, s.unit, s.label, room, name, m.metric_id))
    return out


def points_needed(score: TrackScore) -> dict[str, Any]:
    """What would raise the score most cheaply, in words: the metrics at zero first (a track
    qualifies only with every metric above zero), then the most points per step, until 70."""
    missing = max(0.0, QUALIFYING_SCORE - score.score)
    zero = [m for m in score.metrics if m.points <= 0]
    room = {m.metric.metric_id: round(m.metric.max_points - m.points, 2) for m in score.metrics}
    by_metric = {m.metric.metric_id: _options(m) for m in score.metrics}  # each metric's ways, worked out once
    steps: list[str] = []
    gained = 0.0
    for m in zero:
        options = sorted(by_metric[m.metric.metric_id], key=lambda o: (o.first / o.unit, -o.per))
        if options:
            gain, words = options[0].take(0, room[m.metric.metric_id])
            room[m.metric.metric_id] -= gain
            steps.append(words)
            gained += gain
    # Then the most points per step, the metrics just started included (from their next step).
    options = [o for m in score.metrics if m.points > 0 for o in by_metric[m.metric.metric_id]]
    options += [
        _Option(o.next_per or o.per, o.unit, o.unit, o.label, o.room, o.metric, o.metric_id)
        for m in zero
        for o in by_metric[m.metric.metric_id]
    ]
    rest = sorted(options, key=lambda o: (-o.per / o.unit, o.metric))
    for option in rest:
        if gained >= missing:
            break
        if room[option.metric_id] <= 0:
            continue
        gain, words = option.take(missing - gained, room[option.metric_id])
        room[option.metric_id] -= gain
        steps.append(words)
        gained += gain
    if not steps and rest:
        steps.append(rest[0].take(0, room[rest[0].metric_id])[1])
    return {"pointsToQualify": _number(round(missing, 2)), "metricsAtZero": [m.metric.metric_id for m in zero], "steps": steps}


# --- one designation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DesignationResult:
    designation: Designation
    tracks: tuple[TrackScore, ...]
    chosen: TrackScore
    why: str
    reference_month: int
    window: tuple[date, date]
    qualified_on: date | None
    status: Status
    history: tuple[dict[str, Any], ...]
    falls_below_on: date | None
    falls_below_because: str | None
    cannot_lose: tuple[dict[str, str], ...]
    expiring: tuple[dict[str, str], ...]

    def to_api(self) -> dict[str, Any]:
        d = self.designation
        return {
            "designationId": d.designation_id,
            "name": d.name,
            "solutionArea": d.solution_area,
            "source": d.source,
            "sourceDate": d.source_date.isoformat(),
            "status": self.status,
            "score": _number(self.chosen.score),
            "qualifiesToday": self.chosen.qualifies,
            "track": {"trackId": self.chosen.track.track_id, "name": self.chosen.track.name, "why": self.why},
            "metrics": [m.to_api() for m in self.chosen.metrics],
            "tracks": [
                {"trackId": t.track.track_id, "name": t.track.name, "score": _number(t.score), "qualifies": t.qualifies}
                for t in self.tracks
            ],
            "referenceMonth": month_name(self.reference_month),
            "qualificationWindow": {"from": self.window[0].isoformat(), "to": self.window[1].isoformat()},
            "qualifiedOn": self.qualified_on.isoformat() if self.qualified_on else None,
            "history": list(self.history),
            "pointsNeeded": points_needed(self.chosen),
            "fallsBelow70On": self.falls_below_on.isoformat() if self.falls_below_on else None,
            "fallsBelow70Because": self.falls_below_because,
            "cannotLose": list(self.cannot_lose),
            "expiring": list(self.expiring),
        }


def _score_designation(
    designation: Designation, held: Mapping[str, Mapping[str, date]], facts: _Facts, on: date
) -> tuple[tuple[TrackScore, ...], TrackScore, str, int]:
    reference = facts.reference_month(on)
    tracks = tuple(score_track(t, held, facts, reference, on) for t in designation.tracks)
    chosen, why = choose_track(designation, tracks, facts, reference)
    return tracks, chosen, why, reference


def _falls_below(
    designation: Designation, holdings: _Holdings, facts: _Facts, reference: int, chosen: TrackScore, on: date
) -> tuple[date | None, str | None]:
    """The earliest day the score falls below 70 (or a metric to zero) if nothing changes:
    certifications lapse on their days, and each month the reference month moves on with the
    customers' latest month repeated, so customers leave the trailing comparisons."""
    if not chosen.qualifies:
        return None, None
    projected = facts.projected(reference, PROJECTION_MONTHS)
    horizon = first_day(month_index(on) + PROJECTION_MONTHS + 1)
    days = {first_day(m) for m in range(month_index(on) + 1, month_index(on) + PROJECTION_MONTHS + 1)}
    days |= {d for d in holdings.change_days() if on < d < horizon}
    for day in sorted(days):
        held = holdings.on(day)
        _, later, _, _ = _score_designation(designation, held, projected, day)
        if not later.qualifies:
            before = {m.metric.metric_id: m.points for m in chosen.metrics}
            dropped = [
                f"{m.metric.name.lower()} {_number(before.get(m.metric.metric_id, 0))} → {_number(m.points)} points"
                for m in later.metrics
                if m.points < before.get(m.metric.metric_id, 0)
            ]
            return day, f"score {_number(later.score)}: " + ("; ".join(dropped) if dropped else "another track applies")
    return None, None


def _cannot_lose(
    track: TrackScore, held: Mapping[str, Mapping[str, date]], facts: _Facts, reference: int, on: date, names: Mapping[str, str]
) -> list[dict[str, str]]:
    """The single people and customers whose loss alone would stop the track qualifying."""
    if not track.qualifies:
        return []
    out: list[dict[str, str]] = []
    people = sorted({u for m in track.metrics for u in m.contributors})
    for user_id in people:
        if not score_track(track.track, held, facts, reference, on, without_user=user_id).qualifies:
            out.append({"kind": "person", "userId": user_id, "displayName": names.get(user_id, user_id)})
    tenants = sorted({t for m in track.metrics for s in m.sources for t in s.tenants})
    for tenant in tenants:
        if not score_track(track.track, held, facts, reference, on, without_tenant=tenant).qualifies:
            out.append({"kind": "customer", "customerTenantId": tenant})
    return out


def _expiring(
    designation: Designation, track: TrackScore, held: Mapping[str, Mapping[str, date]], horizon: date, names: Mapping[str, str]
) -> list[dict[str, str]]:
    """Certifications the score depends on that lapse by ``horizon``: the holder's loss lowers
    a metric (or breaks a prerequisite step)."""
    out: list[dict[str, str]] = []
    for m in track.metrics:
        if m.metric.kind != "certifiedPeople":
            continue
        for user_id in sorted(m.contributors):
            lapses = max((held.get(c, {}).get(user_id, date.min) for c in m.metric.codes), default=date.min)
            if lapses == _NEVER or lapses > horizon:
                continue
            without = _people_metric(m.metric, held, horizon, user_id)
            if without.points < m.points:
                code = max(m.metric.codes, key=lambda c: (held.get(c, {}).get(user_id, date.min), c))
                out.append(
                    {
                        "designationId": designation.designation_id,
                        "trackId": track.track.track_id,
                        "metricId": m.metric.metric_id,
                        "userId": user_id,
                        "displayName": names.get(user_id, user_id),
                        "code": code,
                        "expiresOn": (lapses - timedelta(days=1)).isoformat(),  # the last day it counts
                    }
                )
    return out


@dataclass(frozen=True)
class DesignationsEvaluation:
    partner_id: str
    designations_version: str
    designations: tuple[DesignationResult, ...]
    history: dict[str, dict[str, MonthRecord]]
    stable_until: date

    def to_api(self) -> dict[str, Any]:
        return {
            "partnerId": self.partner_id,
            "designationsVersion": self.designations_version,
            "designations": [d.to_api() for d in self.designations],
        }


def evaluate_designations(
    catalog: DesignationCatalog, snapshot: DesignationSnapshot, on: date, *, alert_window_days: int = 60, project: bool = True
) -> DesignationsEvaluation:
    holdings = _Holdings(catalog, snapshot.people, snapshot.achievements)
    held = holdings.on(on)
    facts = _Facts(catalog, snapshot.facts)
    horizon = on + timedelta(days=alert_window_days)
    scored = {d.designation_id: _score_designation(d, held, facts, on) for d in catalog.designations}
    history = record_day(snapshot.history, {k: v[1] for k, v in scored.items()}, on)
    results = []
    for d in catalog.designations:
        tracks, chosen, why, reference = scored[d.designation_id]
        anniversary = enrolled_anniversary(snapshot.enrolment, d.designation_id, on)
        window = qualification_window(on, anniversary)
        first = qualified_on(history, d.designation_id, window, on if chosen.qualifies else None)
        falls_on, because = _falls_below(d, holdings, facts, reference, chosen, on) if project else (None, None)
        watched = chosen.qualifies or anniversary is not None
        results.append(
            DesignationResult(
                designation=d,
                tracks=tracks,
                chosen=chosen,
                why=why,
                reference_month=reference,
                window=window,
                qualified_on=first,
                status=status(snapshot.enrolment, d.designation_id, on, first),
                history=tuple(six_months(history, d.designation_id, on)),
                falls_below_on=falls_on,
                falls_below_because=because,
                cannot_lose=tuple(_cannot_lose(chosen, held, facts, reference, on, holdings.names)) if project else (),
                expiring=tuple(_expiring(d, chosen, held, horizon, holdings.names)) if watched else (),
            )
        )
    return DesignationsEvaluation(
        snapshot.partner_id,
        catalog.designations_version,
        tuple(results),
        history,
        designation_stable_until(holdings, snapshot, on, alert_window_days),
    )


def designation_stable_until(holdings: _Holdings, snapshot: DesignationSnapshot, on: date, alert_window_days: int) -> date:
    """The first day after ``on`` on which the same inputs could give another result: the next
    month (window, reference month, history), a certification earned or lapsing or entering
    the alert window, an anniversary or the end of its renewal window."""
    window = timedelta(days=alert_window_days)
    candidates = [first_day(month_index(on) + 1)]
    for d in holdings.change_days():
        candidates += [d, d - window]
    if snapshot.enrolment is not None:
        for anniversary in {snapshot.enrolment.anniversary, *snapshot.enrolment.renewed.values()}:
            candidates += [anniversary, anniversary + RENEWAL_WINDOW]
        candidates += list(snapshot.enrolment.designations.values())
    return min(d for d in candidates if d > on)


# --- enrolment ----------------------------------------------------------------------------------


class EnrolmentRefused(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def enrol(
    enrolment: Enrolment | None, designation_id: str, result_status: Status, qualified: date | None, on: date
) -> tuple[Enrolment, Literal["enrolled", "renewed", "unchanged"]]:
    """Enrol (or renew) one designation. The first designation sets the anniversary (a year
    from enrolment); later ones share it. In the renewal window, a designation that qualified
    in its window renews: it moves to the next anniversary, which the others then share when
    they renew (those that do not keep the old one and lapse after its window). Returns the
    membership and what happened: ``enrolled``, ``renewed`` or ``unchanged`` (a retry)."""
    anniversary = enrolled_anniversary(enrolment, designation_id, on)
    if anniversary is not None:
        assert enrolment is not None
        if on < anniversary:
            return enrolment, "unchanged"
        if qualified is None:
            raise EnrolmentRefused(
                "The designation did not qualify in its renewal window: a score of 70 with every metric above zero is needed."
            )
        following = max(enrolment.anniversary, anniversary + YEAR)
        old = {d: enrolment.anniversary_of(d) for d in enrolment.designations if d != designation_id}
        renewed = {d: a for d, a in old.items() if a != following}
        return Enrolment(following, dict(enrolment.designations), renewed), "renewed"
    if result_status != "qualified" or qualified is None:
        raise EnrolmentRefused("The designation has not qualified in its window: a score of 70 with every metric above zero is needed.")
    active = enrolment is not None and any(enrolled_anniversary(enrolment, d, on) is not None for d in enrolment.designations)
    if active:
        assert enrolment is not None
        renewed = {d: a for d, a in enrolment.renewed.items() if d != designation_id}
        return Enrolment(enrolment.anniversary, {**enrolment.designations, designation_id: on}, renewed), "enrolled"
    return Enrolment(on + YEAR, {designation_id: on}), "enrolled"


# --- alert rules ----------------------------------------------------------------------------------

TYPE_SCORE_BELOW = "designation.score.below70"
TYPE_METRIC_ZERO = "designation.metric.zero"
TYPE_CERTIFICATION_EXPIRING = "designation.certification.expiring"
ALERT_TYPES = (TYPE_SCORE_BELOW, TYPE_METRIC_ZERO, TYPE_CERTIFICATION_EXPIRING)


def designation_alerts(
    *, partner_id: str, previous: Mapping[str, Any] | None, current: Mapping[str, Any], raised_at: datetime
) -> list[Alert]:
    """Alerts for the change between two designation evaluations (API shape): a score that
    falls below 70, a metric that falls to zero, and certifications the score depends on
    that lapse within the alert window. Ids derive from what an alert is about, so the same
    change is never raised twice."""
    before = {d["designationId"]: d for d in (previous or {}).get("designations", [])}
    episode = str((previous or {}).get("evaluatedAt", "first"))
    alerts: list[Alert] = []
    for d in current.get("designations", []):
        designation_id, name, track = d["designationId"], d["name"], d["track"]["trackId"]
        was = before.get(designation_id)
        if was is not None and was["score"] >= QUALIFYING_SCORE > d["score"]:
            because = f" If nothing changes it was to fall below 70 on {was['fallsBelow70On']}." if was.get("fallsBelow70On") else ""
            alerts.append(
                Alert(
                    id=alert_id(partner_id, TYPE_SCORE_BELOW, designation_id, episode),
                    type=TYPE_SCORE_BELOW,
                    partner_id=partner_id,
                    competency_id=designation_id,
                    level=track,
                    title=f"The partner capability score of {name} fell below 70",
                    detail=f"{name} scores {d['score']} (it scored {was['score']}); a designation qualifies with 70 points and every "
                    f"metric above zero.{because} To raise it: {'; '.join(d['pointsNeeded']['steps']) or 'see the designation'}.",
                    cause="scoreBelow70",
                    raised_at=raised_at,
                )
            )
        if was is not None and was["track"]["trackId"] == track:
            points_before = {m["metricId"]: m["points"] for m in was["metrics"]}
            for m in d["metrics"]:
                if m["points"] == 0 and points_before.get(m["metricId"], 0) > 0:
                    alerts.append(
                        Alert(
                            id=alert_id(partner_id, TYPE_METRIC_ZERO, designation_id, track, m["metricId"], episode),
                            type=TYPE_METRIC_ZERO,
                            partner_id=partner_id,
                            competency_id=designation_id,
                            level=track,
                            title=f"{m['name']} of {name} fell to zero points",
                            detail=f"{m['name']} had {points_before[m['metricId']]} points and now has none; {name} cannot qualify "
                            "while a metric is at zero.",
                            cause="metricAtZero",
                            raised_at=raised_at,
                        )
                    )
        announced = {(i["userId"], i["code"], i["expiresOn"]) for i in (was or {}).get("expiring", [])}  # raised then
        for item in d.get("expiring", []):
            if (item["userId"], item["code"], item["expiresOn"]) in announced:
                continue
            expires_on = date.fromisoformat(item["expiresOn"])
            alerts.append(
                Alert(
                    id=alert_id(partner_id, TYPE_CERTIFICATION_EXPIRING, designation_id, item["userId"], item["code"], item["expiresOn"]),
                    type=TYPE_CERTIFICATION_EXPIRING,
                    partner_id=partner_id,
                    competency_id=designation_id,
                    level=track,
                    title=f"A certification the {name} score depends on expires on {item['expiresOn']}",
                    detail=f"{item['displayName']}'s {item['code']} counts until {item['expiresOn']}; "
                    f"without it {item['metricId'].replace('-', ' ')} lose points. Renew it, or certify someone else before then.",
                    cause="certificationExpiring",
                    raised_at=raised_at,
                    subject_user_id=item["userId"],
                    expires_on=expires_on,
                )
            )
    unique: dict[str, Alert] = {}
    for alert in alerts:
        unique.setdefault(alert.id, alert)
    return list(unique.values())


__all__ = [
    "CustomerFact",
    "DesignationCatalog",
    "DesignationSnapshot",
    "Enrolment",
    "MonthRecord",
    "evaluate_designations",
    "load_designations",
    "qualification_window",
]
