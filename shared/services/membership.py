"""The benefit-pack membership of a partner: read, buy, renew, upgrade.

Buying and renewing are judged on today's facts: the partner is evaluated in the request
(cheap when nothing changed since the last evaluation: the stored result is confirmed), and
evaluated again once the subscription is stored, so that its renewal risks and alerts start
from the purchase."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field

from shared.api_models import ApiOut, Omitted
from shared.documents import ApiModel, EvaluationDoc, SubscriptionDoc, iso, partner_pk, utc_now
from shared.domain import membership as rules
from shared.domain.catalog import Level
from shared.domain.evaluation import EvaluationFacts
from shared.errors import Conflict
from shared.ports import ConflictError, DocumentStore, Stored
from shared.schedules import NIGHTLY_EVALUATION


class MembershipIn(ApiModel):
    model_config = ConfigDict(json_schema_extra={"example": {"level": "silver"}})

    level: Literal["silver", "gold"]


class MembershipService:
    def __init__(
        self,
        store: DocumentStore,
        *,
        window_days: int,
        evaluate: Callable[[str], dict[str, Any]] | None = None,
        clock: Callable[[], datetime] = utc_now,
        nightly_schedule: str = NIGHTLY_EVALUATION,
    ) -> None:
        self._store = store
        self._window = window_days
        self._evaluate = evaluate
        self._clock = clock
        self._schedule = nightly_schedule

    def _read(self, partner_id: str) -> tuple[Stored | None, EvaluationFacts | None]:
        pk = partner_pk(partner_id)
        stored = self._store.read(pk, SubscriptionDoc.DOC_ID)
        evaluation = self._store.read(pk, EvaluationDoc.DOC_ID)
        return stored, (EvaluationFacts.from_api(EvaluationDoc.from_doc(evaluation.body).evaluation) if evaluation else None)

    def _evaluated(self, partner_id: str) -> EvaluationFacts | None:
        """Today's facts (the partner evaluated now), or the stored evaluation's without an evaluator."""
        if self._evaluate is None:
            return self._read(partner_id)[1]
        return EvaluationFacts.from_api(self._evaluate(partner_id))

    @staticmethod
    def _subscription(stored: Stored | None) -> rules.Subscription | None:
        if stored is None:
            return None
        doc = SubscriptionDoc.from_doc(stored.body)
        return rules.Subscription(doc.level, doc.purchased_on, doc.expires_on, dict(doc.competencies))

    def view(self, partner_id: str) -> dict[str, Any]:
        stored, evaluation = self._read(partner_id)
        return rules.membership_view(partner_id, self._subscription(stored), evaluation, self._clock().date(), self._window)

    def buy(self, partner_id: str, body: MembershipIn, *, actor: str) -> dict[str, Any]:
        stored = self._store.read(partner_pk(partner_id), SubscriptionDoc.DOC_ID)
        # Today's facts, not last night's: a departure or an unlink since then counts.
        evaluation = self._evaluated(partner_id)
        now = self._clock()
        current = self._subscription(stored)
        try:
            purchase = rules.buy(body.level, current, evaluation, now.date(), schedule=self._schedule)
        except rules.NotEligible as exc:
            raise Conflict(exc.detail, title="Not eligible", slug="not-eligible", extra={"gap": exc.gap} if exc.gap else None) from None
        if purchase.kind != "repeat":
            sub = purchase.subscription
            previous = SubscriptionDoc.from_doc(stored.body) if stored else None
            doc = SubscriptionDoc(
                id=SubscriptionDoc.DOC_ID,
                level=sub.level,
                purchased_on=sub.purchased_on,
                expires_on=sub.expires_on,
                competencies={p["competencyId"]: p["level"] for p in rules.business_profile(sub.level, evaluation)},  # today's only
                history=[
                    *(previous.history if previous else []),
                    {"at": iso(now), "by": actor, "kind": purchase.kind, "level": sub.level, "discountPercent": purchase.discount_percent},
                ],
            )
            pk = partner_pk(partner_id)
            try:
                if stored is None:
                    self._store.create(pk, doc.to_doc())
                else:
                    self._store.replace(pk, doc.to_doc(), if_match=stored.etag)
            except ConflictError:
                raise Conflict("Another purchase was made at the same time; read the membership and try again.") from None
            if self._evaluate is not None:
                evaluation = self._evaluated(partner_id)  # the renewal risks and alerts start from the purchase
        stored = self._store.read(partner_pk(partner_id), SubscriptionDoc.DOC_ID)
        view = rules.membership_view(partner_id, self._subscription(stored), evaluation, now.date(), self._window)
        view["purchase"] = {"kind": purchase.kind, "discountPercent": purchase.discount_percent}
        return view


# --- the answer ------------------------------------------------------------------------------


class PurchaseOut(ApiOut):
    kind: Literal["purchase", "renewal", "upgrade", "repeat"]
    discount_percent: int


class RenewalRiskOut(ApiOut):
    competency_id: str
    level: Level
    state: Literal["notMet", "lapsing"]
    last_day: date | Omitted = None


class ProfileCompetencyOut(ApiOut):
    competency_id: str
    level: Level


class MembershipOut(ApiOut):  # rules.membership_view; the service adds the purchase
    """The partner's benefit pack, its renewal and the levels it could buy."""

    partner_id: str
    level: Literal["none", "silver", "gold"]
    status: Literal["none", "active", "renewalOpen", "lapsed"] | Omitted = None
    purchased_on: date | None
    expires_on: date | None
    renewal_closes_on: date | None = None
    eligible_levels: list[Level]
    renewal_at_risk: bool
    purchase: PurchaseOut | Omitted = Field(default=None, description="In the answer to a purchase only")
    renewal_risks: list[RenewalRiskOut] | Omitted = Field(
        default=None, description="Why the renewal is at risk: per competency the subscription was bought for"
    )
    business_profile: list[ProfileCompetencyOut]
