"""Evaluating partners: the nightly fan-out, one partner per queue message, on demand.

One partner's evaluation reads its whole input with a single single-partition query
(users, MSA mirrors, achievement copies, figures, overrides, subscription, the latest
evaluation), runs the pure engine, hands the change to the alert rules, and stores the
result. A redelivered message (same run key) returns the stored evaluation unchanged.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, NamedTuple, Protocol, cast

from pydantic import ConfigDict, Field

from shared import telemetry
from shared.api_models import ApiOut, Omitted
from shared.documents import (
    EVALUATION_INPUT_TYPES,
    EVALUATION_OUTPUT_TYPES,
    EvaluationDoc,
    EvaluationHistoryDoc,
    EvaluationStampDoc,
    OverrideDoc,
    Partner,
    SubscriptionDoc,
    iso,
    partner_pk,
    utc_now,
)
from shared.domain import evaluation as engine
from shared.domain import membership as membership_rules
from shared.domain.alert_rules import Alert
from shared.domain.catalog import LEVEL_RANK, Catalog, Level, RequirementKind
from shared.errors import NotFound
from shared.ports import Document, DocumentsByType, DocumentStore, InvalidMessage, MessageQueue, Stored, by_type
from shared.queues import EVALUATE_PARTNER
from shared.schedules import NIGHTLY_EVALUATION, runs
from shared.services.designations import DESIGNATION_RESULT_TYPE, DesignationService
from shared.services.msa_association import count_linked

log = logging.getLogger("competency.evaluation")

# What a night reads of a partner, in one query: the inputs, the partner (does it still
# exist) and the stamp (was the message done, would the result be the same).
NIGHTLY_READ_TYPES = (*EVALUATION_INPUT_TYPES, Partner.doc_type, EvaluationStampDoc.doc_type)


class Employee(NamedTuple):
    """What the evaluation and the alert rules need of a user document."""

    user_id: str
    display_name: str
    status: str


class Mirror(NamedTuple):
    """What the evaluation and the alert rules need of an MSA mirror document."""

    msa_id: str
    user_id: str
    state: str
    linked_at: datetime | None
    severed_to_partner_id: str | None


@dataclass
class PartnerInputs:
    """Everything of one partner the evaluation reads, parsed from the one query."""

    partner_id: str
    users: list[Employee] = field(default_factory=list)
    mirrors: list[Mirror] = field(default_factory=list)
    achievements: list[engine.Achievement] = field(default_factory=list)
    metrics: list[engine.MetricFigure] = field(default_factory=list)
    overrides: list[OverrideDoc] = field(default_factory=list)
    subscription: SubscriptionDoc | None = None
    latest: EvaluationDoc | None = None
    _latest_facts: engine.EvaluationFacts | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_documents(cls, partner_id: str, documents: Sequence[Stored] | DocumentsByType) -> PartnerInputs:
        """Parse the one query's documents (or the same grouped by type). Achievements and
        figures are the bulk: they go straight into the engine's records (validated when the
        feeds wrote them), not through a model per document."""
        groups = documents if isinstance(documents, Mapping) else by_type(documents)
        day = date.fromisoformat
        instant = datetime.fromisoformat
        inputs = cls(partner_id)
        achievement, metric = engine.Achievement, engine.MetricFigure
        inputs.achievements = [
            achievement(b["msaId"], b["kind"], b["code"], day(b["earnedOn"]), day(e) if (e := b.get("expiresOn")) else None, b.get("title"))
            for b in (d.body for d in groups.get("achievement", ()))
        ]
        inputs.metrics = [
            metric(b["metric"], b["competencyId"], day(b["asOf"]), float(b["value"])) for b in (d.body for d in groups.get("metric", ()))
        ]
        inputs.users = [
            Employee(b["userId"], b["displayName"], b.get("status", "active")) for b in (d.body for d in groups.get("user", ()))
        ]
        inputs.mirrors = [
            Mirror(b["msaId"], b["userId"], b["state"], instant(at) if (at := b.get("linkedAt")) else None, b.get("severedToPartnerId"))
            for b in (d.body for d in groups.get("msaMirror", ()))
        ]
        inputs.overrides = [OverrideDoc.from_doc(d.body) for d in groups.get("override", ())]
        for d in groups.get("subscription", ()):
            inputs.subscription = SubscriptionDoc.from_doc(d.body)
        for d in groups.get("evaluation", ()):
            inputs.latest = EvaluationDoc.from_doc(d.body)
        return inputs

    def latest_facts(self) -> engine.EvaluationFacts | None:
        """What the rules read of the latest stored evaluation (parsed once)."""
        if self._latest_facts is None and self.latest is not None:
            self._latest_facts = engine.EvaluationFacts.from_api(self.latest.evaluation)
        return self._latest_facts

    def subscription_rules(self) -> membership_rules.Subscription | None:
        sub = self.subscription
        return membership_rules.Subscription(sub.level, sub.purchased_on, sub.expires_on, dict(sub.competencies)) if sub else None

    def previous_risks(self, window_days: int) -> list[membership_rules.RenewalRisk]:
        """The renewal risks found by the previous evaluation (an episode's start)."""
        if self.latest is None:
            return []
        if self.latest.renewal_risks is not None:
            return [
                membership_rules.RenewalRisk(
                    r["competencyId"], r["level"], r["state"], date.fromisoformat(d) if (d := r.get("lastDay")) else None
                )
                for r in self.latest.renewal_risks
            ]
        on = date.fromisoformat(str(self.latest.evaluation["evaluatedAt"])[:10])
        return membership_rules.renewal_risks(self.subscription_rules(), self.latest_facts(), on, window_days)

    def linked_msa_by_user(self) -> dict[str, str]:
        return count_linked(self.mirrors)

    def people(self) -> list[engine.Person]:
        """The employees as the engines see them: active or not, with the MSA that counts."""
        linked = self.linked_msa_by_user()
        return [engine.Person(u.user_id, u.display_name, u.status == "active", linked.get(u.user_id)) for u in self.users]

    def held_levels(self, on: date) -> dict[str, str]:
        """Levels the partner holds per competency: achieved last time, or subscribed."""
        latest = self.latest_facts()
        return held_levels(latest.achieved_levels() if latest is not None else {}, self.subscription, on)


def held_levels(achieved: Mapping[str, str], subscription: SubscriptionDoc | None, on: date) -> dict[str, str]:
    """Levels held per competency: ``achieved`` by the latest evaluation, or subscribed."""
    held = {competency_id: level for competency_id, level in achieved.items() if level != "none"}
    if subscription is not None and on <= subscription.expires_on:
        for competency_id, level in subscription.competencies.items():
            if LEVEL_RANK.get(level, 0) > LEVEL_RANK[held.get(competency_id, "none")]:
                held[competency_id] = level
    return held


def _reusable_held(used: Mapping[str, str], following: Mapping[str, str], achieved: Mapping[str, str]) -> bool:
    """Whether the next night, holding ``following``, computes what holding ``used`` did: a
    competency's held level is unchanged, or was none and becomes the one achieved (the engine
    treats an achieved level with none held as held)."""
    return all(
        following.get(c, "none") == used.get(c, "none") or (used.get(c, "none") == "none" and following.get(c) == achieved.get(c))
        for c in {*used, *following}
    )


class Change(NamedTuple):
    """What an evaluation found, for the alert rules."""

    inputs: PartnerInputs
    previous: engine.EvaluationFacts | None
    current: engine.EvaluationFacts
    on: date
    risks: list[membership_rules.RenewalRisk]
    previous_risks: list[membership_rules.RenewalRisk]
    reminders: list[membership_rules.Reminder]


class AlertOutbox(Protocol):
    """The alerts of an evaluation: raised by the rules, stored with the evaluation."""

    def rules(self, change: Change) -> list[Alert]: ...

    def record(
        self, alerts: Sequence[Alert], evaluated_at: str | None, *, together: Sequence[Document] = (), partition_key: str | None = None
    ) -> list[str]: ...


class EvaluationService:
    def __init__(
        self,
        store: DocumentStore,
        queue: MessageQueue,
        catalog: Catalog,
        *,
        alert_window_days: int,
        clock: Callable[[], datetime] = utc_now,
        alerts: AlertOutbox | None = None,
        designations: DesignationService | None = None,
        nightly_schedule: str = NIGHTLY_EVALUATION,
    ) -> None:
        self._designations = designations  # Solutions Partner designations, scored with the competencies
        self._store = store
        self._queue = queue
        self._catalog = catalog
        self._window = alert_window_days
        self._clock = clock
        self._alerts = alerts
        self._schedule = nightly_schedule

    # --- nightly fan-out ---------------------------------------------------------------------

    def fan_out(self, partner_ids: Sequence[str], run_at: datetime | None = None) -> int:
        """One message per partner; the run key makes a redelivered message a no-op."""
        at = (run_at or self._clock()).astimezone(UTC).replace(microsecond=0)
        messages = [{"partnerId": p, "runKey": f"nightly:{at.date().isoformat()}", "evaluatedAt": iso(at)} for p in partner_ids]
        return self._queue.send_many(EVALUATE_PARTNER, messages)

    # --- one partner ---------------------------------------------------------------------------

    def read_inputs(self, partner_id: str) -> PartnerInputs:
        documents = self._store.query(partner_pk(partner_id), types=[*EVALUATION_INPUT_TYPES, *EVALUATION_OUTPUT_TYPES])
        return PartnerInputs.from_documents(partner_id, documents)

    def _fingerprint(self, inputs: list[str], held: Mapping[str, str]) -> str:
        """Changes whenever an input document is written, created or deleted (``inputs``: their
        ETags, each unique to one version of one document), the catalog or the window, or the
        held levels (an input: the levels the latest evaluation achieved)."""
        parts = sorted(inputs)
        parts.append(f"catalog:{self._catalog.catalog_version}:{self._catalog.digest}:window:{self._window}:held:{sorted(held.items())}")
        if self._designations is not None:
            parts.append(f"designations:{self._designations.digest}")
        return hashlib.sha1("|".join(parts).encode(), usedforsecurity=False).hexdigest()

    def evaluate_partner(self, partner_id: str, *, evaluated_at: datetime | None = None) -> dict[str, Any]:
        """Evaluate one partner now (buying, renewing, an operator's request) and answer the
        evaluation."""
        evaluation = self._evaluate(partner_id, None, evaluated_at, nightly=False)[1]
        return evaluation if evaluation is not None else self.latest(partner_id)

    def evaluate_nightly(self, partner_id: str, run_key: str | None, evaluated_at: datetime | None) -> str:
        """The nightly evaluation of one partner (a queue message): ``computed``, ``unchanged``,
        ``redelivered`` (the message was done before), or ``gone`` (no such partner)."""
        return self._evaluate(partner_id, run_key, evaluated_at, nightly=True)[0]

    def _evaluate(
        self, partner_id: str, run_key: str | None, evaluated_at: datetime | None, *, nightly: bool
    ) -> tuple[str, dict[str, Any] | None]:
        """One query reads the inputs, the partner and the stamp; the evaluation and the
        designations' result (the largest documents) are read by a second one only when the
        partner is computed again."""
        pk = partner_pk(partner_id)
        documents = by_type(self._store.query(pk, types=list(NIGHTLY_READ_TYPES)))
        if nightly and not documents.get(Partner.doc_type):
            log.warning("partner %s no longer exists; nothing to evaluate", partner_id)
            return "gone", None
        stamp = next((d.body for d in documents.get(EvaluationStampDoc.doc_type, ())), None)
        if run_key and stamp is not None and stamp.get("sourceMessageId") == run_key:
            return "redelivered", None
        # The fingerprint's parts: every input document's ETag.
        inputs_seen = [d.etag for kind in EVALUATION_INPUT_TYPES for d in documents.get(kind, ())]
        at = (evaluated_at or self._clock()).astimezone(UTC).replace(microsecond=0)
        on = at.date()
        subscription_doc = next((SubscriptionDoc.from_doc(d.body) for d in documents.get(SubscriptionDoc.doc_type, ())), None)
        if stamp is not None and stamp.get("fingerprint") is not None:
            confirmed_on = date.fromisoformat(str(stamp["evaluatedAt"])[:10])
            unchanged = stamp["fingerprint"] == self._fingerprint(
                inputs_seen, held_levels(stamp.get("achieved") or {}, subscription_doc, on)
            )
            if unchanged and confirmed_on <= on < date.fromisoformat(stamp.get("stableUntil") or "0001-01-01"):
                # Nothing changed since, and no date that matters was crossed: the result is
                # the same (the engine's stable_until property), only the time is new. No
                # alert can be new either: the levels and expiries are the ones already seen.
                self._store.upsert(pk, {**stamp, "evaluatedAt": iso(at), "sourceMessageId": run_key})
                telemetry.count("competency.partners.evaluated", outcome="unchanged")
                return "unchanged", None
        # What it found last time, for the changes and the history: the evaluation, and the
        # designations' result unless the stamp shows it is still the result.
        designations_fingerprint, designations_reused = "", None
        if self._designations is not None:
            designations_fingerprint = self._designations.fingerprint(documents)
            designations_reused = self._designations.reusable((stamp or {}).get("designations"), designations_fingerprint, on)
        if stamp is not None:
            outputs = [t for t in EVALUATION_OUTPUT_TYPES if t != DESIGNATION_RESULT_TYPE or designations_reused is None]
            documents |= by_type(self._store.query(pk, types=outputs))
        inputs = PartnerInputs.from_documents(partner_id, documents)
        result, stable_until = self.compute(inputs, at)
        current = result.facts()  # what the rules read; the API shape is what is stored and answered
        evaluation = result.to_api()
        achieved = current.achieved_levels()
        # Reusable tomorrow only if tomorrow's held levels (these achieved ones) compute the same.
        used, following = inputs.held_levels(on), held_levels(achieved, inputs.subscription, on)
        reusable = _reusable_held(used, following, achieved)
        fingerprint = self._fingerprint(inputs_seen, following if reusable else used)
        previous = inputs.latest_facts()
        subscription = inputs.subscription_rules()
        # One rule for GET membership and the at-risk alert: membership.renewal_risks.
        risks = membership_rules.renewal_risks(subscription, current, on, self._window)
        _count_level_changes(previous, current)
        alerts: list[Alert] = []
        if self._alerts is not None:
            reminders = membership_rules.due_reminders(subscription, on)
            alerts += self._alerts.rules(Change(inputs, previous, current, on, risks, inputs.previous_risks(self._window), reminders))
        writes: list[Document] = []
        designations_record = (stamp or {}).get("designations")
        if designations_reused is not None:
            stable_until = min(stable_until, designations_reused)
        elif self._designations is not None:  # the designations' score, alerts and history
            part = self._designations.evaluate(partner_id, inputs.people(), inputs.achievements, documents, at, designations_fingerprint)
            alerts += part.alerts
            writes.append(self._designations.document(part))
            stable_until = min(stable_until, part.stable_until)
            designations_record = part.record()
        summary = _summary(evaluation)
        if inputs.latest is None or _summary(inputs.latest.evaluation) != summary:
            # History keeps every change of level, risk or value (not a copy per night).
            history = EvaluationHistoryDoc(
                id=f"evaluation:{iso(at)}", evaluated_at=at, achieved=summary[0], at_risk=summary[1], current=summary[2]
            )
            writes.append(history.to_doc())
        writes.append(EvaluationDoc.document(evaluation, source_message_id=run_key, renewal_risks=[r.to_api() for r in risks]))
        writes.append(
            EvaluationStampDoc(
                id=EvaluationStampDoc.DOC_ID,
                evaluated_at=iso(at),
                source_message_id=run_key,
                fingerprint=fingerprint,
                stable_until=stable_until.isoformat(),
                achieved=achieved,
                designations=designations_record if self._designations is not None else None,
            ).to_doc()
        )
        # The outbox: the alerts and the evaluation that raised them in one transaction, with
        # stable ids; their dispatch is enqueued after it (a lost message is the sweep's).
        if self._alerts is not None:
            self._alerts.record(alerts, iso(at), together=writes, partition_key=pk)
        else:
            self._store.write_batch(pk, upserts=writes)
        telemetry.count("competency.partners.evaluated", outcome="computed")
        return "computed", evaluation

    def compute(self, inputs: PartnerInputs, at: datetime) -> tuple[engine.Evaluation, date]:
        """The engine's result (``to_api`` gives the API shape), and the day before which it cannot change."""
        on = at.date()
        linked = inputs.linked_msa_by_user()
        snapshot = engine.PartnerSnapshot(
            partner_id=inputs.partner_id,
            people=[
                engine.Person(
                    user_id=u.user_id,
                    display_name=u.display_name,
                    active=u.status == "active",
                    msa_id=linked.get(u.user_id),
                )
                for u in inputs.users
            ],
            achievements=inputs.achievements,
            metrics=inputs.metrics,
            overrides=[
                engine.Override(
                    override_id=o.override_id,
                    competency_id=o.competency_id,
                    level=cast(engine.LevelName, o.level),  # OverrideIn admits silver or gold only
                    path_id=o.path_id,
                    requirement_id=o.requirement_id,
                    reason=o.reason,
                    expires_on=o.expires_on,
                )
                for o in inputs.overrides
            ],
            held=cast(Mapping[str, engine.LevelName], inputs.held_levels(on)),  # "none" is left out: silver or gold
        )
        result = engine.evaluate(self._catalog, snapshot, on, evaluated_at=at, alert_window_days=self._window)
        stable_until = result.stable_until
        sub = inputs.subscription
        if sub is not None:
            # Held levels, the renewal horizon, the displayed level and the reminders change on these days.
            days = [sub.expires_on, sub.expires_on + timedelta(days=1), sub.expires_on + membership_rules.RENEWAL_WINDOW]
            for day in membership_rules.reminder_days(inputs.subscription_rules()):
                days += [day, day + membership_rules.REMINDER_GRACE]
            stable_until = min([stable_until, *(d for d in days if d > on)])
        return result, stable_until

    def history(self, partner_id: str, start: date | None, end: date | None) -> dict[str, Any]:
        """Progress over time: per night, each competency's level and requirement values."""
        from shared.errors import ValidationFailed

        end = end or self._clock().date()
        start = start or end - timedelta(days=30)
        if start > end:
            raise ValidationFailed("from must not be after to.", errors=[{"pointer": "#/from", "detail": "after to"}])
        if (end - start).days >= MAX_HISTORY_DAYS:
            raise ValidationFailed(
                f"Ask for at most {MAX_HISTORY_DAYS} nights at a time.", errors=[{"pointer": "#/to", "detail": "range too long"}]
            )
        documents = [d.body for d in self._store.query(partner_pk(partner_id), types=[EvaluationHistoryDoc.doc_type])]
        nights = history_nights(documents, start, end, self._catalog)
        return {"partnerId": partner_id, "from": start.isoformat(), "to": end.isoformat(), "nights": nights}

    def latest(self, partner_id: str) -> dict[str, Any]:
        stored = self._store.read(partner_pk(partner_id), EvaluationDoc.DOC_ID)
        if stored is None:
            raise NotFound(f"This partner has not been evaluated yet; the nightly evaluation {runs(self._schedule)}.")
        evaluation: dict[str, Any] = stored.body["evaluation"]
        stamp = self._store.read(partner_pk(partner_id), EvaluationStampDoc.DOC_ID)
        if stamp is not None and stamp.body["evaluatedAt"] > evaluation["evaluatedAt"]:
            evaluation = {**evaluation, "evaluatedAt": stamp.body["evaluatedAt"]}
        return evaluation


def _count_level_changes(previous: engine.EvaluationFacts | None, current: engine.EvaluationFacts) -> None:
    """Metrics of one computed evaluation: each level gained or lost."""
    before = previous.achieved_levels() if previous is not None else {}
    after = current.achieved_levels()
    for competency_id in before.keys() | after.keys():
        old, new = before.get(competency_id, "none"), after.get(competency_id, "none")
        if LEVEL_RANK.get(new, 0) > LEVEL_RANK.get(old, 0):
            telemetry.count("competency.levels.gained", level=new)
        elif LEVEL_RANK.get(new, 0) < LEVEL_RANK.get(old, 0):
            telemetry.count("competency.levels.lost", level=old)


def _summary(evaluation: Mapping[str, Any]) -> tuple[dict[str, str], list[str], dict[str, dict[str, float]]]:
    competencies = evaluation.get("competencies", [])
    at_risk = [c["competencyId"] for c in competencies if c.get("atRisk")]
    current = {
        c["competencyId"]: {
            f"{lv['level']}/{p['pathId']}/{r['requirementId']}": r["current"]
            for lv in c.get("levels", [])
            for p in lv.get("paths", [])
            for r in p.get("requirements", [])
        }
        for c in competencies
    }
    return engine.achieved_levels(evaluation), at_risk, current


MAX_HISTORY_DAYS = 366


def history_nights(documents: Sequence[Mapping[str, Any]], start: date, end: date, catalog: Catalog) -> list[dict[str, Any]]:
    """Per night from ``start`` to ``end``: the state the latest evaluation up to that night
    left (an unchanged night repeats it); nights before the first evaluation are left out."""
    ordered = sorted(documents, key=lambda d: str(d["evaluatedAt"]))
    nights: list[dict[str, Any]] = []
    index, latest = 0, None
    day = start
    while day <= end:
        while index < len(ordered) and str(ordered[index]["evaluatedAt"])[:10] <= day.isoformat():
            latest = ordered[index]
            index += 1
        if latest is not None:
            nights.append(_night(day, latest, catalog))
        day += timedelta(days=1)
    return nights


def _night(day: date, doc: Mapping[str, Any], catalog: Catalog) -> dict[str, Any]:
    at_risk = set(doc.get("atRisk", []))
    competencies = []
    for competency in catalog.competencies:
        cid = competency.competency_id
        values = (doc.get("current") or {}).get(cid, {})
        requirements = [
            {"level": lv.level, "pathId": p.path_id, "requirementId": r.requirement_id, "current": values[key]}
            for lv in competency.levels
            for p in lv.paths
            for r in p.requirements
            if (key := f"{lv.level}/{p.path_id}/{r.requirement_id}") in values
        ]
        competencies.append(
            {
                "competencyId": cid,
                "achievedLevel": doc.get("achieved", {}).get(cid, "none"),
                "atRisk": cid in at_risk,
                "requirements": requirements,
            }
        )
    return {"date": day.isoformat(), "evaluatedAt": str(doc["evaluatedAt"]), "competencies": competencies}


# --- the answers ---------------------------------------------------------------------------
#
# The evaluation's answer is built by the engine (``Evaluation.to_api``, on the nightly path);
# these models describe it for the OpenAPI document, and a test holds the engine to them.


class RequirementResultOut(ApiOut):
    requirement_id: str
    kind: RequirementKind
    description: str
    required: float
    current: float
    met: bool
    override: bool | Omitted = None
    expires_on: date | Omitted = Field(default=None, description="the last day it is met if nothing changes (absent: not foreseen)")
    contributors: list[str]


class PathResultOut(ApiOut):
    path_id: str
    met: bool
    override: bool | Omitted = None
    override_reason: str | Omitted = None
    override_expires_on: date | Omitted = None
    requirements: list[RequirementResultOut]


class LevelResultOut(ApiOut):
    level: Level
    met: bool
    override: bool
    expires_on: date | Omitted = Field(default=None, description="the last day met if nothing changes")
    implied_by: Level | Omitted = Field(default=None, description="met because this higher level is")
    override_reason: str | Omitted = None
    override_expires_on: date | Omitted = None
    paths: list[PathResultOut]


class NextLevelOut(ApiOut):
    level: str | Omitted = None
    gap: str | Omitted = None


class SinglePointOfFailureOut(ApiOut):
    user_id: str | Omitted = None
    display_name: str | Omitted = None
    level: str | Omitted = None


class ExpiringOut(ApiOut):
    competency_id: str | Omitted = None
    level: str | Omitted = None
    user_id: str | Omitted = None
    code: str | Omitted = None
    expires_on: date | Omitted = Field(default=None, description="the last day it counts")
    accepted_until: date | Omitted = Field(default=None, description="present when a retired exam's grace ends: its last accepted day")


class CompetencyResultOut(ApiOut):
    competency_id: str
    name: str
    achieved_level: Literal["none", "silver", "gold"]
    levels: list[LevelResultOut]
    at_risk: bool
    earliest_expiry: date | None
    next_level: NextLevelOut | None = None
    single_points_of_failure: list[SinglePointOfFailureOut] | Omitted = None
    expiring: list[ExpiringOut] | Omitted = None


class EvaluationOut(ApiOut):
    """A partner's evaluation: per competency, the level achieved and why."""

    partner_id: str
    evaluated_at: datetime
    catalog_version: str
    competencies: list[CompetencyResultOut]


class HistoryRequirementOut(ApiOut):
    level: Level
    path_id: str
    requirement_id: str
    current: float


class HistoryCompetencyOut(ApiOut):
    competency_id: str
    achieved_level: Literal["none", "silver", "gold"]
    at_risk: bool
    requirements: list[HistoryRequirementOut]


class HistoryNightOut(ApiOut):
    date: date
    evaluated_at: datetime = Field(description="the evaluation that night shows")
    competencies: list[HistoryCompetencyOut]


class HistoryOut(ApiOut):
    """A partner's progress over time."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "partnerId": "contoso",
                "from": "2026-11-24",
                "to": "2026-11-25",
                "nights": [
                    {
                        "date": "2026-11-24",
                        "evaluatedAt": "2026-11-24T02:00:00Z",
                        "competencies": [
                            {
                                "competencyId": "cloud-platform",
                                "achievedLevel": "silver",
                                "atRisk": False,
                                "requirements": [
                                    {"level": "silver", "pathId": "azure-consumption", "requirementId": "azure-skill", "current": 1}
                                ],
                            }
                        ],
                    }
                ],
            }
        }
    )

    partner_id: str
    from_: date = Field(alias="from")
    to: date
    nights: list[HistoryNightOut] = Field(
        description="One entry per night with an evaluation on or before it; an unchanged night repeats the last evaluation."
    )


def evaluate_message(body: object, evaluation: EvaluationService) -> str:
    """The queue trigger's work; a malformed message is dropped (``InvalidMessage``), not retried."""
    if not isinstance(body, dict) or not isinstance(body.get("partnerId"), str):
        raise InvalidMessage("an evaluation message names a partnerId")
    at = None
    if body.get("evaluatedAt") is not None:
        try:
            at = datetime.fromisoformat(str(body["evaluatedAt"]).replace("Z", "+00:00"))
        except ValueError:
            raise InvalidMessage("evaluatedAt is not an ISO 8601 date-time") from None
    run_key = body.get("runKey") if isinstance(body.get("runKey"), str) else None
    return evaluation.evaluate_nightly(body["partnerId"], run_key, at)
