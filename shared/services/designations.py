"""Solutions Partner designations: the customer-facts feed, the nightly score (part of the
partner's evaluation), the partner's view, the score simulator and enrolment.

The nightly evaluation reads the partner's whole input in its one query; the designations
add three document types to it (``customerFacts``, one per month fed,
``designationMembership`` and their latest result with its monthly history), so a night
adds no read; the result is written only when it is re-computed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from shared.api_models import ApiOut, Omitted
from shared.documents import ApiModel, CustomerFactsDoc, DesignationMembershipDoc, EvaluationStampDoc, iso, partner_pk, utc_now
from shared.domain import designations as pcs
from shared.domain.alert_rules import Alert
from shared.domain.evaluation import Achievement, Person
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.ports import Document, DocumentsByType, DocumentStore, PreconditionFailedError, Stored, by_type
from shared.schedules import NIGHTLY_EVALUATION, runs

MAX_FACTS_PER_MONTH = 5000
MAX_FACTS_BODY_BYTES = 2_000_000
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
TENANT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"


# --- stored documents ------------------------------------------------------------------------


# The latest designation result (id ``designations``), kept apart from the competencies'
# evaluation so that reading competencies does not carry it; written only when re-computed.
DESIGNATION_RESULT_TYPE = "designationEvaluation"
DESIGNATION_RESULT_ID = "designations"

DESIGNATION_INPUT_TYPES = (CustomerFactsDoc.doc_type, DesignationMembershipDoc.doc_type)
_FINGERPRINTED = frozenset({"user", "msaMirror", "achievement", CustomerFactsDoc.doc_type, DesignationMembershipDoc.doc_type})


# --- requests --------------------------------------------------------------------------------


class CustomerFactIn(ApiModel):
    customer_tenant_id: str = Field(pattern=TENANT_PATTERN)
    workload: str = Field(min_length=1, max_length=64)
    association: str = Field(min_length=1, max_length=16)
    revenue_usd: float | None = Field(default=None, ge=0, le=1e12, allow_inf_nan=False)
    paid_seats: float | None = Field(default=None, ge=0, le=1e9, allow_inf_nan=False)
    active_users: float | None = Field(default=None, ge=0, le=1e9, allow_inf_nan=False)
    mcv: float | None = Field(default=None, ge=0, le=1e12, allow_inf_nan=False)

    @model_validator(mode="after")
    def _a_figure(self) -> CustomerFactIn:
        if self.revenue_usd is None and self.paid_seats is None and self.active_users is None and self.mcv is None:
            raise ValueError("a fact needs at least one of revenueUsd, paidSeats, activeUsers, mcv")
        return self


class CustomerFactsIn(ApiModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "producedAt": "2026-11-20T05:00:00Z",
                "facts": [
                    {"customerTenantId": "contoso-customer-1", "workload": "azure-sql-database", "association": "CSP", "revenueUsd": 1500},
                    {
                        "customerTenantId": "contoso-customer-2",
                        "workload": "teams",
                        "association": "CPOR",
                        "paidSeats": 350,
                        "activeUsers": 160,
                    },
                ],
            }
        }
    )

    produced_at: datetime = Field(description="When the source produced this month's facts; the newest feed of a month wins.")
    facts: list[CustomerFactIn] = Field(max_length=MAX_FACTS_PER_MONTH)

    @field_validator("produced_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("producedAt needs a time zone (UTC: a trailing Z)")
        return value.astimezone(UTC)


class CustomerFactsOut(ApiModel):
    partner_id: str
    month: str
    facts: int
    stored: bool
    detail: str


class SimulatedCertification(ApiModel):
    code: str = Field(min_length=1, max_length=64)
    people: int = Field(default=1, ge=1, le=100, description="New people holding it")
    user_id: str | None = Field(default=None, max_length=128, description="Or an existing employee who earns it")


class SimulationIn(ApiModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "designationId": "infrastructure-azure",
                "certifications": [{"code": "AZ-140", "people": 1}],
                "customers": [
                    {"customerTenantId": "new-customer", "workload": "azure-sql-database", "association": "CSP", "revenueUsd": 1200}
                ],
            }
        }
    )

    designation_id: str | None = None
    certifications: list[SimulatedCertification] = Field(default=[], max_length=100)
    customers: list[CustomerFactIn] = Field(default=[], max_length=500, description="Added to the reference month")


class EnrolmentOut(ApiModel):
    partner_id: str
    designation_id: str
    outcome: Literal["enrolled", "renewed", "unchanged"]
    anniversary: date
    designations: dict[str, date]
    renewal_due: dict[str, date] = Field(default={}, description="Designations still on an earlier anniversary (not renewed yet)")


# --- the nightly part ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DesignationsPart:
    """What the evaluation stores and alerts on for the designations of one partner."""

    view: dict[str, Any]  # the API shape
    history: dict[str, Any]  # stored monthly history
    stable_until: date
    fingerprint: str
    alerts: list[Alert] = field(default_factory=list)  # raised by this change, stored with it

    def record(self) -> dict[str, str]:
        """What the evaluation's stamp keeps to know, on a later night, that the same inputs
        give this same result (``DesignationService.reusable``) without reading it."""
        return {"fingerprint": self.fingerprint, "stableUntil": self.stable_until.isoformat(), "evaluatedAt": self.view["evaluatedAt"]}


def _facts(documents: DocumentsByType, oldest: int) -> list[pcs.CustomerFact]:
    out = []
    for stored in documents.get(CustomerFactsDoc.doc_type, ()):
        body = stored.body
        month = pcs.parse_month(body["month"])
        if month < oldest:
            continue
        for f in body["facts"]:
            out.append(pcs.CustomerFact(month, f["t"], f["w"], f["a"], f.get("r", 0.0), f.get("s", 0.0), f.get("u", 0.0), f.get("m")))
    return out


def _latest(documents: DocumentsByType) -> dict[str, Any]:
    return next((d.body for d in documents.get(DESIGNATION_RESULT_TYPE, ())), None) or {}


def _enrolment(documents: DocumentsByType) -> pcs.Enrolment | None:
    for stored in documents.get(DesignationMembershipDoc.doc_type, ()):
        doc = DesignationMembershipDoc.from_doc(stored.body)
        return pcs.Enrolment(doc.anniversary, dict(doc.designations), dict(doc.renewed))
    return None


def _history(stored: Mapping[str, Any] | None) -> dict[str, dict[str, pcs.MonthRecord]]:
    out: dict[str, dict[str, pcs.MonthRecord]] = {}
    for month, records in (stored or {}).items():
        out[month] = {
            d: pcs.MonthRecord(r["highestScore"], date.fromisoformat(r["qualifiedOn"]) if r.get("qualifiedOn") else None)
            for d, r in records.items()
        }
    return out


def _history_doc(history: Mapping[str, Mapping[str, pcs.MonthRecord]]) -> dict[str, Any]:
    return {
        month: {
            d: {"highestScore": r.highest_score, "qualifiedOn": r.qualified_on.isoformat() if r.qualified_on else None}
            for d, r in records.items()
        }
        for month, records in sorted(history.items())
    }


def _rolled(view: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    """A reused result on a later day of the same month: the same scores, with the rolling
    window of the designations not enrolled ending on the new day."""
    start, end = pcs.qualification_window(at.date())
    designations = [
        d
        if d["status"] in ("enrolled", "enrolledRenewalDue")
        else {**d, "qualificationWindow": {"from": start.isoformat(), "to": end.isoformat()}}
        for d in view["designations"]
    ]
    return {**view, "designations": designations, "evaluatedAt": iso(at)}


def _fact_in(f: CustomerFactIn) -> dict[str, Any]:
    out: dict[str, Any] = {"t": f.customer_tenant_id, "w": f.workload, "a": f.association}
    for key, value in (("r", f.revenue_usd), ("s", f.paid_seats), ("u", f.active_users), ("m", f.mcv)):
        if value is not None:
            out[key] = value
    return out


class DesignationService:
    def __init__(
        self,
        store: DocumentStore,
        catalog: pcs.DesignationCatalog,
        *,
        alert_window_days: int,
        clock: Callable[[], datetime] = utc_now,
        nightly_schedule: str = NIGHTLY_EVALUATION,
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._window = alert_window_days
        self._clock = clock
        self._schedule = nightly_schedule

    @property
    def digest(self) -> str:
        return f"{self._catalog.designations_version}:{self._catalog.digest}"

    def catalog_view(self) -> dict[str, Any]:
        return self._catalog.to_api()

    # --- the nightly evaluation ------------------------------------------------------------------

    def snapshot(
        self, partner_id: str, people: Sequence[Person], achievements: Sequence[Achievement], documents: DocumentsByType, on: date
    ) -> pcs.DesignationSnapshot:
        latest = _latest(documents)
        return pcs.DesignationSnapshot(
            partner_id=partner_id,
            people=people,
            achievements=achievements,
            facts=_facts(documents, pcs.month_index(on) - 26),
            enrolment=_enrolment(documents),
            history=_history(latest.get("history")),
        )

    def fingerprint(self, documents: DocumentsByType) -> str:
        """Changes when an input of the designations is written: people, MSA links, designation
        certifications, customer facts, the membership; or the catalog or the window."""
        codes = self._catalog.codes
        parts = sorted(
            d.etag  # unique to one version of one document
            for kind in _FINGERPRINTED
            for d in documents.get(kind, ())
            if kind != "achievement" or d.body.get("code") in codes
        )
        parts.append(f"{self.digest}:window:{self._window}")
        return hashlib.sha1("|".join(parts).encode(), usedforsecurity=False).hexdigest()

    @staticmethod
    def reusable(record: Mapping[str, str] | None, fingerprint: str, on: date) -> date | None:
        """The stored result's stable day when it is still the result (none of the
        designations' inputs changed and no date that matters was crossed: the result is the
        same), else None. ``record``: what ``DesignationsPart.record`` kept."""
        if not record or record.get("fingerprint") != fingerprint:
            return None
        stable_until = date.fromisoformat(record["stableUntil"])
        return stable_until if date.fromisoformat(record["evaluatedAt"][:10]) <= on < stable_until else None

    def evaluate(
        self,
        partner_id: str,
        people: Sequence[Person],
        achievements: Sequence[Achievement],
        documents: DocumentsByType,
        at: datetime,
        fingerprint: str,
    ) -> DesignationsPart:
        """Score every designation and raise the alerts for the change since the stored result
        (in ``documents``); the evaluation stores both with its own (the outbox)."""
        on = at.date()
        result = pcs.evaluate_designations(
            self._catalog, self.snapshot(partner_id, people, achievements, documents, on), on, alert_window_days=self._window
        )
        view = {**result.to_api(), "evaluatedAt": iso(at)}
        alerts = pcs.designation_alerts(partner_id=partner_id, previous=_latest(documents).get("view"), current=view, raised_at=at)
        return DesignationsPart(view, _history_doc(result.history), result.stable_until, fingerprint, alerts=alerts)

    @staticmethod
    def document(part: DesignationsPart) -> Document:
        """The stored result."""
        return {
            "id": DESIGNATION_RESULT_ID,
            "type": DESIGNATION_RESULT_TYPE,
            "schemaVersion": 1,
            "view": part.view,
            "history": part.history,
        }

    # --- reading -------------------------------------------------------------------------------

    def view(self, partner_id: str, designation_id: str | None = None) -> dict[str, Any]:
        stored = self._store.read(partner_pk(partner_id), DESIGNATION_RESULT_ID)
        if stored is None:
            raise NotFound(f"This partner's designations have not been evaluated yet; the nightly evaluation {runs(self._schedule)}.")
        view: dict[str, Any] = stored.body["view"]
        stamp = self._store.read(partner_pk(partner_id), EvaluationStampDoc.DOC_ID)
        if stamp is not None and stamp.body["evaluatedAt"] > view["evaluatedAt"]:
            # Confirmed unchanged on a later night (the evaluation was reused): same scores.
            view = _rolled(view, datetime.fromisoformat(stamp.body["evaluatedAt"].replace("Z", "+00:00")))
        if designation_id is None:
            return view
        found = next((d for d in view["designations"] if d["designationId"] == designation_id), None)
        if found is None:
            raise NotFound(f"Designation '{designation_id}' is not in the catalog.")
        return {"partnerId": partner_id, "evaluatedAt": view["evaluatedAt"], **found}

    # --- the feed ------------------------------------------------------------------------------

    def put_customer_facts(self, partner_id: str, month: str, body: CustomerFactsIn) -> CustomerFactsOut:
        import re

        if not re.fullmatch(MONTH_PATTERN, month):
            raise ValidationFailed("The month is YYYY-MM.", errors=[{"pointer": "#/month", "detail": "expected YYYY-MM"}])
        now = self._clock()
        if pcs.parse_month(month) > pcs.month_index(now.date()):
            raise ValidationFailed(f"{month} has not started yet.", errors=[{"pointer": "#/month", "detail": "a future month"}])
        if body.produced_at > now + timedelta(hours=1):
            raise ValidationFailed(
                "producedAt is in the future; it decides which feed of a month is the newest.",
                errors=[{"pointer": "#/producedAt", "detail": "later than now"}],
            )
        errors = self._check(body.facts)
        if errors:
            raise ValidationFailed(f"{len(errors)} fact(s) do not match the designation catalog; nothing was stored.", errors=errors)
        # The same (customer, workload, association) twice: the last one wins, as in the achievements feed.
        unique = {(f.customer_tenant_id, f.workload, f.association): f for f in body.facts}
        doc = CustomerFactsDoc(
            id=CustomerFactsDoc.doc_id(month),
            month=month,
            produced_at=body.produced_at,
            received_at=now,
            facts=[_fact_in(f) for f in unique.values()],
        ).to_doc()
        pk = partner_pk(partner_id)
        for _ in range(3):
            existing = self._store.read(pk, doc["id"])
            if existing is not None:
                stored_at = datetime.fromisoformat(str(existing.body["producedAt"]).replace("Z", "+00:00"))
                if stored_at > body.produced_at:
                    return CustomerFactsOut(
                        partner_id=partner_id,
                        month=month,
                        facts=len(existing.body["facts"]),
                        stored=False,
                        detail=f"A newer feed of {month} (produced {iso(stored_at)}) is stored; this one is ignored.",
                    )
                if stored_at == body.produced_at and existing.body["facts"] == doc["facts"]:
                    return CustomerFactsOut(partner_id=partner_id, month=month, facts=len(unique), stored=True, detail="Already stored.")
            try:
                if existing is None:
                    self._store.create(pk, doc)
                else:
                    self._store.replace(pk, doc, if_match=existing.etag)
            except PreconditionFailedError:
                continue  # another feed of the month raced: compare again
            except Exception as exc:
                from shared.ports import ConflictError

                if isinstance(exc, ConflictError):
                    continue
                raise
            return CustomerFactsOut(partner_id=partner_id, month=month, facts=len(unique), stored=True, detail=f"{month} replaced.")
        raise Conflict("Another feed of this month was being stored at the same time; retry.")

    def _check(self, facts: Sequence[CustomerFactIn]) -> list[dict[str, str]]:
        errors = []
        refused = set(self._catalog.refused_associations)
        for i, f in enumerate(facts):
            if f.workload not in self._catalog.workload_by_id:
                errors.append(
                    {"pointer": f"#/facts/{i}/workload", "detail": f"'{f.workload}' is not a workload of the designation catalog"}
                )
            if f.association in refused:
                errors.append({"pointer": f"#/facts/{i}/association", "detail": f"{f.association} is not an eligible association"})
            elif f.association not in self._catalog.associations:
                errors.append({"pointer": f"#/facts/{i}/association", "detail": f"expected one of {', '.join(self._catalog.associations)}"})
        return errors

    def _read(self, partner_id: str) -> tuple[list[Person], list[Achievement], dict[str, list[Stored]]]:
        """The partner's input as the nightly evaluation reads it: one single-partition query."""
        from shared.documents import EVALUATION_INPUT_TYPES
        from shared.services.evaluation import PartnerInputs

        documents = self._store.query(partner_pk(partner_id), types=[*EVALUATION_INPUT_TYPES, DESIGNATION_RESULT_TYPE])
        inputs = PartnerInputs.from_documents(partner_id, documents)
        return inputs.people(), inputs.achievements, by_type(documents)

    # --- the simulator -------------------------------------------------------------------------

    def simulate(
        self,
        partner_id: str,
        body: SimulationIn,
    ) -> dict[str, Any]:
        """The score with hypothetical certifications and customers; nothing is stored."""
        if body.designation_id is not None and body.designation_id not in self._catalog.by_id:
            raise ValidationFailed(
                f"Designation '{body.designation_id}' is not in the catalog.",
                errors=[{"pointer": "#/designationId", "detail": "not in the catalog"}],
            )
        errors = self._check(body.customers)
        for i, c in enumerate(body.certifications):
            if c.code not in self._catalog.codes:
                errors.append(
                    {"pointer": f"#/certifications/{i}/code", "detail": f"'{c.code}' is not a certification of the designation catalog"}
                )
        people, achievements, documents = self._read(partner_id)
        linked = {p.user_id: p for p in people if p.active and p.msa_id}
        for i, c in enumerate(body.certifications):
            if c.user_id is not None and c.user_id not in linked:
                errors.append({"pointer": f"#/certifications/{i}/userId", "detail": "not an active employee with a linked MSA"})
        if errors:
            raise ValidationFailed("The simulation does not match the catalog or the partner.", errors=errors)
        now = self._clock()
        on = now.date()
        snapshot = self.snapshot(partner_id, people, achievements, documents, on)
        extra_people: list[Person] = []
        extra_achievements: list[Achievement] = []
        for i, c in enumerate(body.certifications):
            if c.user_id is not None:
                extra_achievements.append(Achievement(str(linked[c.user_id].msa_id), "certification", c.code, on))
                continue
            for n in range(c.people):
                who = f"simulated-{i + 1}-{n + 1}"
                extra_people.append(Person(who, f"Simulated person {i + 1}.{n + 1}", True, who))
                extra_achievements.append(Achievement(who, "certification", c.code, on))
        reference = pcs.reference_month(snapshot.facts, on)
        extra_facts = [
            pcs.CustomerFact(
                reference,
                f"{c.customer_tenant_id}",
                c.workload,
                c.association,
                c.revenue_usd or 0.0,
                c.paid_seats or 0.0,
                c.active_users or 0.0,
                c.mcv,
            )
            for c in body.customers
        ]
        baseline = pcs.evaluate_designations(self._catalog, snapshot, on, alert_window_days=self._window, project=False)
        simulated = pcs.evaluate_designations(
            self._catalog,
            pcs.DesignationSnapshot(
                partner_id,
                [*snapshot.people, *extra_people],
                [*snapshot.achievements, *extra_achievements],
                [*snapshot.facts, *extra_facts],
                snapshot.enrolment,
                snapshot.history,
            ),
            on,
            alert_window_days=self._window,
            project=False,
        )
        out = []
        for before, after in zip(baseline.designations, simulated.designations, strict=True):
            if body.designation_id is not None and after.designation.designation_id != body.designation_id:
                continue
            answer = after.to_api()
            out.append(
                {
                    "designationId": answer["designationId"],
                    "name": answer["name"],
                    "baselineScore": before.to_api()["score"],
                    "score": answer["score"],
                    "qualifies": answer["qualifiesToday"],
                    "track": answer["track"],
                    "metrics": answer["metrics"],
                    "pointsNeeded": answer["pointsNeeded"],
                }
            )
        return {"partnerId": partner_id, "simulatedAt": iso(now), "stored": False, "designations": out}

    # --- enrolment -----------------------------------------------------------------------------

    def enrol(
        self,
        partner_id: str,
        designation_id: str,
        *,
        actor: str,
    ) -> tuple[EnrolmentOut, bool]:
        """Enrol (or renew) a designation that qualified in its window; returns the membership
        and whether anything changed. Concurrent enrolments are serialised by the ETag."""
        if designation_id not in self._catalog.by_id:
            raise NotFound(f"Designation '{designation_id}' is not in the catalog.")
        now = self._clock()
        on = now.date()
        people, achievements, documents = self._read(partner_id)
        snapshot = self.snapshot(partner_id, people, achievements, documents, on)
        result = pcs.evaluate_designations(self._catalog, snapshot, on, alert_window_days=self._window, project=False)
        found = next(d for d in result.designations if d.designation.designation_id == designation_id)
        stored = next(iter(documents.get(DesignationMembershipDoc.doc_type, ())), None)
        try:
            membership, outcome = pcs.enrol(snapshot.enrolment, designation_id, found.status, found.qualified_on, on)
        except pcs.EnrolmentRefused as refused:
            answer = found.to_api()
            raise Conflict(refused.detail, extra={"score": answer["score"], "pointsNeeded": answer["pointsNeeded"]["steps"]}) from None
        out = EnrolmentOut(
            partner_id=partner_id,
            designation_id=designation_id,
            outcome=outcome,
            anniversary=membership.anniversary,
            designations=dict(membership.designations),
            renewal_due=dict(membership.renewed),
        )
        if outcome == "unchanged":
            return out, False
        history = list(DesignationMembershipDoc.from_doc(stored.body).history) if stored else []
        history.append(
            {
                "at": iso(now),
                "by": actor,
                "designationId": designation_id,
                "outcome": outcome,
                "anniversary": membership.anniversary.isoformat(),
            }
        )
        doc = DesignationMembershipDoc(
            id=DesignationMembershipDoc.DOC_ID,
            anniversary=membership.anniversary,
            designations=dict(membership.designations),
            history=history,
        ).to_doc()
        pk = partner_pk(partner_id)
        if stored is None:
            self._store.create(pk, doc)  # a concurrent first enrolment: 409, retry
        else:
            self._store.replace(pk, doc, if_match=stored.etag)  # a concurrent change: 412 → 409, retry
        return out, True


# --- the answers ---------------------------------------------------------------------------
#
# A designation's answer is built by the engine (``DesignationResult.to_api``, on the nightly
# path); these models describe it for the OpenAPI document, and a test holds the engine to them.


class ChosenTrackOut(ApiOut):
    track_id: str | Omitted = None
    name: str | Omitted = None
    why: str | Omitted = None


class MetricScoreOut(ApiOut):
    metric_id: str
    name: str | Omitted = None
    category: Literal["performance", "skilling", "customerSuccess"]
    points: float
    max_points: float
    current: float
    threshold: float
    sources: list[dict[str, Any]] | Omitted = None
    prerequisites: list[dict[str, Any]] | Omitted = None
    contributors: list[str] | Omitted = None


class QualificationWindowOut(ApiOut):
    from_: date | Omitted = Field(default=None, alias="from")
    to: date | Omitted = None


class MonthScoreOut(ApiOut):
    month: str | Omitted = None
    highest_score: float | None = None


class PointsNeededOut(ApiOut):
    points_to_qualify: float | Omitted = None
    metrics_at_zero: list[str] | Omitted = None
    steps: list[str] | Omitted = None


class DesignationOut(ApiOut):
    """One designation: its capability score on the track that applies, and what it needs."""

    designation_id: str
    name: str
    solution_area: str | Omitted = None
    source: str | Omitted = None
    source_date: date | Omitted = None
    status: pcs.Status
    score: float = Field(ge=0, le=100)
    qualifies_today: bool | Omitted = None
    track: ChosenTrackOut
    metrics: list[MetricScoreOut]
    tracks: list[dict[str, Any]] | Omitted = None
    reference_month: str | Omitted = None
    qualification_window: QualificationWindowOut
    qualified_on: date | None = None
    history: list[MonthScoreOut]
    points_needed: PointsNeededOut
    falls_below70_on: date | None = None
    falls_below70_because: str | None = None
    cannot_lose: list[dict[str, Any]] | Omitted = None
    expiring: list[dict[str, Any]] | Omitted = None


class PartnerDesignationOut(DesignationOut):
    """One of a partner's designations, as the latest evaluation left it."""

    partner_id: str
    evaluated_at: datetime


class DesignationsOut(ApiOut):
    """A partner's designations, as the latest evaluation left them."""

    partner_id: str
    evaluated_at: datetime
    designations_version: str
    designations: list[DesignationOut]


class SimulationOut(ApiOut):
    """What the simulated inputs would score; nothing is stored."""

    partner_id: str
    simulated_at: datetime | Omitted = None
    stored: Literal[False]
    designations: list[dict[str, Any]]


class DesignationCatalogOut(ApiOut):
    """The designations' catalog."""

    designations_version: str
    source: str | Omitted = None
    designations: list[dict[str, Any]]
    associations: list[str] | Omitted = None
    certifications: list[dict[str, Any]] | Omitted = None
    workloads: list[dict[str, Any]] | Omitted = None
