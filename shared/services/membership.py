"""The benefit-pack membership of a partner: read, buy, renew, upgrade."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from shared.bootstrap import Container, container
from shared.documents import ApiModel, EvaluationDoc, SubscriptionDoc, iso, partner_pk, utc_now
from shared.domain import membership as rules
from shared.errors import Conflict
from shared.ports import ConflictError, DocumentStore, Stored


class MembershipIn(ApiModel):
    level: Literal["silver", "gold"]


class MembershipService:
    def __init__(self, store: DocumentStore, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._store = store
        self._clock = clock

    def _read(self, partner_id: str) -> tuple[Stored | None, dict[str, Any] | None]:
        pk = partner_pk(partner_id)
        stored = self._store.read(pk, SubscriptionDoc.DOC_ID)
        evaluation = self._store.read(pk, EvaluationDoc.DOC_ID)
        return stored, (EvaluationDoc.from_doc(evaluation.body).evaluation if evaluation else None)

    @staticmethod
    def _subscription(stored: Stored | None) -> rules.Subscription | None:
        if stored is None:
            return None
        doc = SubscriptionDoc.from_doc(stored.body)
        return rules.Subscription(doc.level, doc.purchased_on, doc.expires_on)

    def view(self, partner_id: str) -> dict[str, Any]:
        stored, evaluation = self._read(partner_id)
        return rules.membership_view(partner_id, self._subscription(stored), evaluation, self._clock().date())

    def buy(self, partner_id: str, body: MembershipIn, *, actor: str) -> dict[str, Any]:
        stored, evaluation = self._read(partner_id)
        now = self._clock()
        current = self._subscription(stored)
        try:
            purchase = rules.buy(body.level, current, evaluation, now.date())
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
                competencies={p["competencyId"]: p["level"] for p in rules.business_profile(sub.level, evaluation)},
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
        view = rules.membership_view(partner_id, purchase.subscription, evaluation, now.date())
        view["purchase"] = {"kind": purchase.kind, "discountPercent": purchase.discount_percent}
        return view


def membership_service(c: Container | None = None) -> MembershipService:
    return (c or container()).service("membership", lambda c: MembershipService(c.store))
