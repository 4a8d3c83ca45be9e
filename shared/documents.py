"""The stored document convention: every document has ``id``, ``pk``, ``type`` and
``schemaVersion``; fields are camelCase. Partition keys are chosen so that one partner's
evaluation reads a single partition (``partner_pk``) and uniqueness rules are point reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def iso(instant: datetime) -> str:
    """UTC instant as ``2026-11-25T02:00:00Z``."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def partner_pk(partner_id: str) -> str:
    return f"partner:{partner_id}"


def tenant_pk(tenant_id: str) -> str:
    return f"tenant:{tenant_id}"


def msa_pk(msa_id: str) -> str:
    return f"msa:{msa_id}"


class ApiModel(BaseModel):
    """Request bodies: camelCase, unknown fields rejected (no mass assignment)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", str_strip_whitespace=True)


class StoredModel(BaseModel):
    """Base of stored documents; ``to_doc`` gives the JSON the store keeps."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    doc_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    id: str

    def to_doc(self) -> dict[str, Any]:
        doc = self.model_dump(mode="json", by_alias=True, exclude_none=False)
        doc["type"] = self.doc_type
        doc["schemaVersion"] = self.schema_version
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Self:
        return cls.model_validate(doc)


# --- the data model ---------------------------------------------------------------------------
#
# Partition ``partner:{partnerId}`` holds everything one partner's evaluation reads (one
# single-partition query): the partner, its users, the MSA links as this partner sees them
# (``msaMirror``), copies of the linked people's achievements, performance figures,
# overrides, the subscription and the latest evaluation. Imports, logs, alerts and the
# evaluation history live there too but are not part of the evaluation's query.
#
# Partition ``msa:{msaId}`` holds the person's side: the authoritative link (id ``link``,
# one organisation at a time, ETag-guarded, with a monotonic ``epoch``) and the achievements
# the feeds post (the source the partner copies are made from).
#
# Partition ``tenant:{tenantId}``: which partner a tenant is. ``signin:{state}``: a pending
# MSA sign-in flow.

# What the nightly evaluation computes from (a change to any of them is a change of input).
EVALUATION_INPUT_TYPES = (
    "user",
    "msaMirror",
    "achievement",
    "metric",
    "override",
    "subscription",
    # Solutions Partner designations: customer facts per month, the membership.
    "customerFacts",
    "designationMembership",
)
# What it produces and reads back only when it computes again: the latest evaluation and
# the designations' result (the two largest documents of a partner; a night that changes
# nothing reads the small stamp instead).
EVALUATION_OUTPUT_TYPES = ("evaluation", "designationEvaluation")


def signin_pk(state: str) -> str:
    return f"signin:{state}"


class UserDoc(StoredModel):
    """An employee account of the partner (id ``user:{userId}``; userId = directory object id)."""

    doc_type = "user"
    user_id: str
    partner_id: str
    user_principal_name: str
    display_name: str
    given_name: str | None = None
    surname: str | None = None
    email: str | None = None
    status: str = "active"  # active | departed
    created_at: datetime
    departed_at: datetime | None = None
    import_id: str | None = None

    @staticmethod
    def doc_id(user_id: str) -> str:
        return f"user:{user_id}"


class MsaLinkDoc(StoredModel):
    """The authoritative association of an MSA (partition ``msa:{msaId}``, id ``link``).

    ``epoch`` grows on every change of owner; partner-side mirrors carry the epoch they were
    written for, so a late write from a superseded relink can never make an MSA count twice.
    """

    doc_type = "msaLink"
    msa_id: str
    state: str  # linked | unlinked
    partner_id: str | None = None
    user_id: str | None = None
    epoch: int = 0
    linked_at: datetime | None = None
    previous_partner_id: str | None = None
    previous_user_id: str | None = None
    relinks: list[datetime] = []  # change-of-organisation times, for the yearly cap


class MsaMirrorDoc(StoredModel):
    """How one partner sees an MSA (partition ``partner:{id}``, id ``msa:{msaId}``)."""

    doc_type = "msaMirror"
    msa_id: str
    user_id: str
    state: str  # linked | severed
    epoch: int
    linked_at: datetime | None = None
    severed_at: datetime | None = None
    severed_to_partner_id: str | None = None

    @staticmethod
    def doc_id(msa_id: str) -> str:
        return f"msa:{msa_id}"


class AchievementDoc(StoredModel):
    """A certification, exam or assessment of one person, keyed by MSA.

    Stored in the MSA's partition (id ``ach:{kind}:{code}``) and copied into the partition of
    the partner the MSA is linked to (id ``ach:{msaId}:{kind}:{code}``).
    """

    doc_type = "achievement"
    msa_id: str
    kind: str  # certification | exam | assessment
    code: str
    title: str | None = None
    earned_on: date
    expires_on: date | None = None
    received_at: datetime

    @staticmethod
    def source_id(kind: str, code: str) -> str:
        return f"ach:{kind}:{code}"

    @staticmethod
    def copy_id(msa_id: str, kind: str, code: str) -> str:
        return f"ach:{msa_id}:{kind}:{code}"


class MetricDoc(StoredModel):
    """A performance figure for the period ending ``asOf`` (id ``metric:{competency}:{metric}:{asOf}``)."""

    doc_type = "metric"
    competency_id: str
    metric: str
    as_of: date
    value: float
    received_at: datetime

    @staticmethod
    def doc_id(competency_id: str, metric: str, as_of: date) -> str:
        return f"metric:{competency_id}:{metric}:{as_of.isoformat()}"


class OverrideDoc(StoredModel):
    """An achievement override granted by program staff (id ``override:{overrideId}``), audited."""

    doc_type = "override"
    override_id: str
    competency_id: str
    level: str
    path_id: str | None = None
    requirement_id: str | None = None
    reason: str
    expires_on: date
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
    history: list[dict[str, Any]] = []

    @staticmethod
    def doc_id(override_id: str) -> str:
        return f"override:{override_id}"


class SubscriptionDoc(StoredModel):
    """The benefit pack the partner bought (id ``subscription``)."""

    doc_type = "subscription"
    level: str  # silver | gold
    purchased_on: date
    expires_on: date
    competencies: dict[str, str] = {}  # the business profile at purchase: competencyId → level
    history: list[dict[str, Any]] = []

    DOC_ID: ClassVar[str] = "subscription"


class EvaluationDoc(StoredModel):
    """The latest evaluation (id ``evaluation``) in the API shape, plus what produced it."""

    doc_type = "evaluation"
    evaluation: dict[str, Any]
    source_message_id: str | None = None

    DOC_ID: ClassVar[str] = "evaluation"

    renewal_risks: list[dict[str, Any]] | None = None  # the membership's renewal risks it found (episodes)

    @classmethod
    def document(
        cls,
        evaluation: dict[str, Any],
        *,
        source_message_id: str | None,
        renewal_risks: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The stored form, built directly (the evaluation is already plain JSON)."""
        return {
            "id": cls.DOC_ID,
            "type": cls.doc_type,
            "schemaVersion": cls.schema_version,
            "evaluation": evaluation,
            "sourceMessageId": source_message_id,
            "renewalRisks": renewal_risks,
        }


class EvaluationStampDoc(StoredModel):
    """When the latest evaluation was last confirmed (id ``evaluation-stamp``), by which
    message, and what a night needs to know it would compute the same: the fingerprint of
    the inputs, the day before which the same inputs give the same result, the levels
    achieved. Kept apart from the evaluation so that a night that changes nothing reads and
    writes this small document instead of the whole evaluation."""

    doc_type = "evaluationStamp"
    evaluated_at: str
    source_message_id: str | None = None
    fingerprint: str | None = None
    stable_until: str | None = None
    achieved: dict[str, str] | None = None  # competencyId → level, of the latest evaluation
    designations: dict[str, str] | None = None  # the designations' result: fingerprint, stable day, when computed

    DOC_ID: ClassVar[str] = "evaluation-stamp"


class EvaluationHistoryDoc(StoredModel):
    """One past evaluation (id ``evaluation:{evaluatedAt}``), summary only: written when a
    level, a risk or a requirement's current value changes (an unchanged night repeats the
    previous one)."""

    doc_type = "evaluationHistory"
    evaluated_at: datetime
    achieved: dict[str, str]  # competencyId → none | silver | gold
    at_risk: list[str]
    current: dict[str, dict[str, float]] = {}  # competencyId → "level/pathId/requirementId" → current


# --- partners -------------------------------------------------------------------------------


class Partner(StoredModel):
    doc_type = "partner"
    partner_id: str
    display_name: str
    tenant_id: str
    primary_domain: str | None = None
    created_at: datetime
    updated_at: datetime

    def to_api(self) -> dict[str, Any]:
        return {
            "partnerId": self.partner_id,
            "displayName": self.display_name,
            "tenantId": self.tenant_id,
            "primaryDomain": self.primary_domain,
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
        }


class TenantIndex(StoredModel):
    doc_type = "tenantIndex"
    tenant_id: str
    partner_id: str


# --- employee imports (shared.services.users) ------------------------------------------------


class NameReservationDoc(StoredModel):
    """A user name one row of one import plans to create (id ``upn:{upn}``), created only if
    absent: two imports can never plan the same name."""

    doc_type = "nameReservation"
    upn: str
    import_id: str
    row: int
    reserved_at: datetime

    @staticmethod
    def doc_id(upn: str) -> str:
        return f"upn:{upn.lower()}"


class ImportDoc(StoredModel):
    """An import (id ``import:{importId}``); its rows live in ``chunks`` ``ImportRowsDoc``s so
    that no document nears Cosmos DB's 2 MB item limit, whatever the number of rows. Stored
    after its chunks: its existence means the plan is complete."""

    doc_type = "import"
    import_id: str
    partner_id: str
    state: Literal["running", "completed", "failed"]
    request_digest: str
    created_by: str
    created_at: datetime
    completed_at: datetime | None = None
    enqueued_at: datetime | None = None  # when its background message was last sent
    progress_at: datetime | None = None  # when a chunk was last saved
    chunks: int
    error: str | None = None  # why the import failed as a whole (state "failed")

    @staticmethod
    def doc_id(import_id: str) -> str:
        return f"import:{import_id}"


class ImportRowsDoc(StoredModel):
    """Rows ``CHUNK * chunk + 1 ...`` (``shared.services.users.CHUNK``) of an import's plan and results, never a password
    (id ``importrows:{importId}:{chunk}``). At most ``CHUNK`` rows of bounded fields."""

    doc_type = "importRows"
    import_id: str
    chunk: int
    rows: list[dict[str, Any]]  # {row, status, userPrincipalName?, userId?, error?, displayName, givenName?, surname?, email?}

    @staticmethod
    def doc_id(import_id: str, chunk: int) -> str:
        return f"importrows:{import_id}:{chunk:05d}"


class ImportLogDoc(StoredModel):
    """The one-time log file of an import (id ``importlog:{importId}``): the only place a
    temporary password is stored, erased on first download or expiry.

    ``ttl`` (seconds, Cosmos DB's document time-to-live, counted from the last write) makes
    Cosmos DB delete the document once it has expired, and an erased one as long after its
    erasure, even if the hourly sweep does not run; the sweep stays for the embedded store."""

    doc_type = "importLog"
    import_id: str
    passwords: dict[str, str]  # row → temporary password
    expires_at: datetime
    downloaded_at: datetime | None = None
    erased: bool = False
    ttl: int = -1

    @staticmethod
    def doc_id(import_id: str) -> str:
        return f"importlog:{import_id}"


# --- MSA sign-in (shared.services.msa_sign_in_flow) ------------------------------------------


class SignInFlowDoc(StoredModel):
    """A started sign-in (its PKCE verifier, nonce and state). ``ttl`` lets Cosmos DB delete
    an abandoned one by itself a minute after it expired; the sweep timer is the backstop
    (and the only cleaner of the embedded store)."""

    doc_type = "signinFlow"
    partner_id: str
    tenant_id: str
    user_id: str
    flow: dict[str, Any]
    created_at: datetime
    expires_at: datetime
    ttl: int = -1


# --- alerts (shared.services.alerts) ----------------------------------------------------------

# The CloudEvents ``source`` of the alerts the sinks receive (``{EVENT_SOURCE}/partners/{partnerId}``).
EVENT_SOURCE = "/competency-suite"


class AlertDoc(StoredModel):
    """An alert and its delivery state (partition ``partner:{id}``, id ``alert:{alertId}``)."""

    doc_type = "alert"
    alert_id: str
    alert_type: str  # "type" is the document's own kind
    partner_id: str
    competency_id: str
    level: str
    title: str
    detail: str
    cause: str
    raised_at: datetime
    subject_user_id: str | None = None
    expires_on: date | None = None
    evaluated_at: str | None = None
    delivery_state: str = "pending"  # pending | delivered | failed
    attempts: int = 0
    delivered_to: list[str] = []
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None

    @staticmethod
    def doc_id(alert_id: str) -> str:
        return f"alert:{alert_id}"

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.alert_id,
            "type": self.alert_type,
            "partnerId": self.partner_id,
            "competencyId": self.competency_id,
            "level": self.level,
            "title": self.title,
            "detail": self.detail,
            "cause": self.cause,
            "raisedAt": iso(self.raised_at),
            "delivery": {"state": self.delivery_state, "attempts": self.attempts},
        }
        if self.subject_user_id:
            body["userId"] = self.subject_user_id
        if self.expires_on:
            body["expiresOn"] = self.expires_on.isoformat()
        if self.last_error and self.delivery_state != "delivered":
            body["delivery"]["lastError"] = self.last_error
        if self.next_attempt_at and self.delivery_state != "delivered" and self.attempts:
            body["delivery"]["nextAttemptAt"] = iso(self.next_attempt_at)
        if self.delivered_at:
            body["delivery"]["deliveredAt"] = iso(self.delivered_at)
        return body

    def cloud_event(self) -> dict[str, Any]:
        data = self.to_api()
        data.pop("delivery")
        return {
            "specversion": "1.0",
            "id": self.alert_id,
            "source": f"{EVENT_SOURCE}/partners/{self.partner_id}",
            "type": self.alert_type,
            "time": iso(self.raised_at),
            "subject": self.partner_id,
            "datacontenttype": "application/json",
            "data": data,
        }


# --- Solutions Partner designations (shared.services.designations) ------------------------------


class CustomerFactsDoc(StoredModel):
    """One month of customer facts of a partner (id ``customerFacts:{YYYY-MM}``); a newer feed
    of the month replaces it whole, an older one is ignored."""

    doc_type = "customerFacts"
    month: str
    produced_at: datetime
    received_at: datetime
    facts: list[dict[str, Any]]  # compact: t(enant), w(orkload), a(ssociation), r, s, u, m

    @staticmethod
    def doc_id(month: str) -> str:
        return f"customerFacts:{month}"


class DesignationMembershipDoc(StoredModel):
    """The Solutions Partner membership (id ``designation-membership``): one anniversary shared
    by every enrolled designation, and what happened when."""

    doc_type = "designationMembership"
    anniversary: date
    designations: dict[str, date]  # designationId → enrolled on
    renewed: dict[str, date] = {}  # designationId → its own anniversary while not renewed to the shared one
    history: list[dict[str, Any]] = []

    DOC_ID: ClassVar[str] = "designation-membership"
