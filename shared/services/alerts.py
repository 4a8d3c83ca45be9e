"""Alerts: raised with the evaluation (outbox), delivered to every sink at least once.

An alert is stored in the partner's partition before anything is sent; a dispatch message
names it. Delivery tries each configured sink that has not yet taken it; a failure schedules
the next attempt with exponential backoff and full jitter (a delayed queue message); after
``ALERTS_MAX_ATTEMPTS`` the alert shows ``failed`` and is retried on a slow schedule (every
``ALERTS_BACKOFF_MAX_SECONDS``) until it is ``ALERTS_MAX_AGE_SECONDS`` old; then it is
reported and waits for an operator's retry. A sweep finds pending alerts whose dispatch
message was lost and failed alerts due for their slow retry. Receivers deduplicate by ``id``.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from shared import telemetry
from shared.api_models import ApiOut, Omitted
from shared.documents import AlertDoc, partner_pk, utc_now
from shared.domain.alert_rules import Alert, PersonFacts, raise_alerts
from shared.errors import Conflict, NotFound
from shared.ports import AlertSink, ConflictError, Document, DocumentStore, InvalidMessage, MessageQueue, PreconditionFailedError
from shared.queues import DISPATCH_ALERTS

if TYPE_CHECKING:
    from shared.services.evaluation import Change, Mirror, PartnerInputs

log = logging.getLogger("competency.alerts")

DISPATCH_BATCH = 500  # alert ids per dispatch message (32 characters each: far below the 64 KB message limit)
NO_SINK = "no alert sink is configured (ALERTS_WEBHOOK_URL or ALERTS_QUEUE_NAME)"


class AlertService:
    def __init__(
        self,
        store: DocumentStore,
        queue: MessageQueue,
        sinks: Callable[[], Sequence[AlertSink]],
        *,
        max_attempts: int,
        backoff_seconds: float,
        backoff_max_seconds: float,
        max_age_seconds: float = 86400.0,
        clock: Callable[[], datetime] = utc_now,
        jitter: Callable[[float], float] = lambda ceiling: random.uniform(0, ceiling),
    ) -> None:
        self._store = store
        self._queue = queue
        self._sinks = sinks
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._backoff_max = backoff_max_seconds
        self._max_age = timedelta(seconds=max_age_seconds)
        self._clock = clock
        self._jitter = jitter

    # --- raising (the outbox) ----------------------------------------------------------------

    def record(
        self, alerts: Sequence[Alert], evaluated_at: str | None, *, together: Sequence[Document] = (), partition_key: str | None = None
    ) -> list[str]:
        """Store new alerts (an id seen before is skipped) and enqueue their dispatch.

        ``together``: documents of ``partition_key`` (the evaluation that raised the alerts)
        written in the same transactional batch, so that an evaluation is never stored
        without its alerts, nor the alerts without it."""
        by_partition: dict[str, list[Alert]] = {}
        for alert in alerts:
            by_partition.setdefault(partner_pk(alert.partner_id), []).append(alert)
        if together:
            if partition_key is None or set(by_partition) - {partition_key}:
                raise ValueError("alerts stored together with documents belong to the documents' partition")
            by_partition.setdefault(partition_key, [])
        created: list[Alert] = []
        for pk, raised in by_partition.items():
            docs = [self._document(alert, evaluated_at).to_doc() for alert in raised]
            others = together if pk == partition_key else ()
            try:
                self._store.write_batch(pk, creates=docs, upserts=others)
                created += raised
            except ConflictError:
                # Some were raised before (a rule raises an alert again while its cause lasts,
                # a reminder during its grace days): each on its own, those seen skipped.
                for alert, doc in zip(raised, docs, strict=True):
                    with contextlib.suppress(ConflictError):
                        self._store.create(pk, doc)
                        created.append(alert)
                if others:
                    self._store.write_batch(pk, upserts=others)
        for alert in created:
            telemetry.count("competency.alerts.raised", type=alert.type)
        self._enqueue([(alert.partner_id, alert.id) for alert in created])
        return [alert.id for alert in created]

    @staticmethod
    def _document(alert: Alert, evaluated_at: str | None) -> AlertDoc:
        return AlertDoc(
            id=AlertDoc.doc_id(alert.id),
            alert_id=alert.id,
            alert_type=alert.type,
            partner_id=alert.partner_id,
            competency_id=alert.competency_id,
            level=alert.level,
            title=alert.title,
            detail=alert.detail,
            cause=alert.cause,
            raised_at=alert.raised_at,
            subject_user_id=alert.subject_user_id,
            expires_on=alert.expires_on,
            evaluated_at=evaluated_at,
            next_attempt_at=alert.raised_at,
        )

    def _enqueue(self, alerts: Sequence[tuple[str, str]], *, delay_seconds: int = 0, strict: bool = False) -> None:
        """Ask for the dispatch of (partnerId, alertId) pairs: one message per partner (at most
        ``DISPATCH_BATCH`` alerts each; a first night raises several per partner), all in one
        request when not delayed.

        ``strict``: a failed send is raised (the dispatcher's message is then retried, rather
        than the alert waiting for the sweep)."""
        by_partner: dict[str, list[str]] = {}
        for partner_id, alert_id in alerts:
            by_partner.setdefault(partner_id, []).append(alert_id)
        bodies = [
            {"partnerId": partner_id, "alertIds": ids[i : i + DISPATCH_BATCH]}
            for partner_id, ids in by_partner.items()
            for i in range(0, len(ids), DISPATCH_BATCH)
        ]
        try:
            if delay_seconds:
                for body in bodies:
                    self._queue.send(DISPATCH_ALERTS, body, delay_seconds=delay_seconds)
            elif bodies:
                self._queue.send_many(DISPATCH_ALERTS, bodies)
        except Exception:
            if strict:
                raise
            # Not lost: the alerts are stored as pending and the sweep will pick them up.
            log.warning("could not enqueue %d alert(s); the sweep will dispatch them", len(alerts))

    def rules(self, change: Change) -> list[Alert]:
        """The alerts the rules raise for the change an evaluation found (stored by ``record``)."""
        current = change.current
        return raise_alerts(
            partner_id=change.inputs.partner_id,
            previous=change.previous,
            current=current,
            held=change.inputs.held_levels(change.on),
            people=alert_facts(change.inputs),
            raised_at=datetime.fromisoformat(current.evaluated_at.replace("Z", "+00:00")),
            risks=change.risks,
            previous_risks=change.previous_risks,
            reminders=change.reminders,
        )

    # --- delivering --------------------------------------------------------------------------

    def dispatch(self, partner_id: str, alert_id: str) -> str:
        """Deliver one alert to the sinks that have not taken it; returns its delivery state."""
        pk = partner_pk(partner_id)
        stored = self._store.read(pk, AlertDoc.doc_id(alert_id))
        if stored is None:
            log.warning("alert %s of %s not found; dropping its dispatch message", alert_id, partner_id)
            return "missing"
        doc = AlertDoc.from_doc(stored.body)
        now = self._clock()
        if doc.delivery_state == "delivered" or (doc.delivery_state == "failed" and doc.next_attempt_at is None):
            return doc.delivery_state  # delivered, or given up until an operator retries it
        if doc.next_attempt_at and doc.next_attempt_at > now + timedelta(seconds=1):
            return doc.delivery_state  # an early duplicate message: the scheduled one will come
        sinks = list(self._sinks())
        if not sinks:
            # Nothing to deliver to is not a delivery: the alert stays pending with the reason
            # (GET /api/health reports the missing sink) and the sweep offers it again later.
            if doc.last_error != NO_SINK:
                with contextlib.suppress(PreconditionFailedError):
                    self._store.replace(pk, doc.model_copy(update={"last_error": NO_SINK}).to_doc(), if_match=stored.etag)
                log.error("alert %s of %s is undelivered: %s", alert_id, partner_id, NO_SINK)
            return doc.delivery_state
        event = doc.cloud_event()
        delivered = set(doc.delivered_to)
        errors = []
        for sink in sinks:
            if sink.name in delivered:
                continue
            try:
                with telemetry.span("alerts.sink.deliver", **{"competency.sink": sink.name, "competency.alert.type": doc.alert_type}):
                    sink.deliver(event)
                delivered.add(sink.name)
            except Exception as exc:  # DeliveryError, or anything a sink raises
                errors.append(f"{sink.name}: {exc}")
        attempts = doc.attempts + 1
        update: dict[str, Any] = {"attempts": attempts, "delivered_to": sorted(delivered)}
        delay = 0
        if not errors:
            update.update(delivery_state="delivered", delivered_at=now, last_error=None, next_attempt_at=None)
        elif attempts >= self._max_attempts:
            # Failed, but not given up: slow retries (the sweep sends them) until the maximum age.
            slow = now + timedelta(seconds=self._backoff_max)
            update.update(
                delivery_state="failed",
                last_error="; ".join(errors),
                next_attempt_at=slow if slow - doc.raised_at < self._max_age else None,
            )
        else:
            ceiling = min(self._backoff_max, self._backoff * 2 ** (attempts - 1))
            delay = max(1, round(self._jitter(ceiling)))
            update.update(last_error="; ".join(errors), next_attempt_at=now + timedelta(seconds=delay))
        new = doc.model_copy(update=update)
        try:
            self._store.replace(pk, new.to_doc(), if_match=stored.etag)
        except PreconditionFailedError:
            return doc.delivery_state  # another dispatcher handled it concurrently
        if new.delivery_state == "pending":
            self._enqueue([(partner_id, alert_id)], delay_seconds=delay, strict=True)
        elif new.delivery_state == "failed" and new.next_attempt_at is None:
            log.error(
                "alert %s of %s given up after %d attempts over %s: %s", alert_id, partner_id, attempts, now - doc.raised_at, new.last_error
            )
        elif new.delivery_state == "failed":
            log.warning(
                "alert %s of %s failed %d times; retrying at %s: %s", alert_id, partner_id, attempts, new.next_attempt_at, new.last_error
            )
        if new.delivery_state in ("delivered", "failed") and new.delivery_state != doc.delivery_state:  # once per alert and state
            telemetry.count(f"competency.alerts.{new.delivery_state}", type=doc.alert_type)
        return new.delivery_state

    def sweep(self, *, older_than_seconds: int = 30) -> int:
        """Re-enqueue pending alerts whose dispatch is overdue (a lost message, a crash) and
        failed alerts whose slow retry is due."""
        now = self._clock()
        cutoff = now - timedelta(seconds=older_than_seconds)
        count = 0
        for stored in self._store.query_all(types=[AlertDoc.doc_type], where={"deliveryState": "pending"}):
            doc = AlertDoc.from_doc(stored.body)
            if doc.next_attempt_at is None or doc.next_attempt_at <= cutoff:
                self._enqueue([(doc.partner_id, doc.alert_id)])
                count += 1
        for stored in self._store.query_all(types=[AlertDoc.doc_type], where={"deliveryState": "failed"}):
            doc = AlertDoc.from_doc(stored.body)
            if doc.next_attempt_at is not None and doc.next_attempt_at <= now:
                self._enqueue([(doc.partner_id, doc.alert_id)])
                count += 1
        return count

    def retry(self, partner_id: str, alert_id: str) -> AlertDoc:
        """An operator's manual retry of a failed (or pending) alert."""
        pk = partner_pk(partner_id)
        stored = self._store.read(pk, AlertDoc.doc_id(alert_id))
        if stored is None:
            raise NotFound(f"Alert '{alert_id}' was not found.")
        doc = AlertDoc.from_doc(stored.body)
        if doc.delivery_state == "delivered":
            raise Conflict("This alert was delivered already; receivers deduplicate by its id.")
        new = doc.model_copy(update={"delivery_state": "pending", "attempts": 0, "next_attempt_at": self._clock()})
        self._store.replace(pk, new.to_doc(), if_match=stored.etag)
        self._enqueue([(partner_id, alert_id)])
        return new

    def list(self, partner_id: str, *, state: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        where = {"deliveryState": state} if state else None
        docs = self._store.query(
            partner_pk(partner_id), types=[AlertDoc.doc_type], where=where, order_by="raisedAt", descending=True, limit=limit
        )
        return [AlertDoc.from_doc(s.body).to_api() for s in docs]


def dispatch_message(body: object, alerts: AlertService) -> None:
    """The dispatch queue trigger's work: deliver the alerts a message names (``alertIds``, or
    one ``alertId`` as messages of earlier versions do); a malformed message is dropped, not
    retried. A failure retries the whole message: the alerts already delivered are skipped."""
    if not isinstance(body, dict) or not isinstance(body.get("partnerId"), str):
        raise InvalidMessage("a dispatch message names a partnerId and its alertIds")
    ids = body.get("alertIds", [body.get("alertId")])
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise InvalidMessage("a dispatch message names a partnerId and its alertIds")
    for alert_id in ids:
        alerts.dispatch(body["partnerId"], alert_id)


def alert_facts(inputs: PartnerInputs) -> dict[str, PersonFacts]:
    """Why each person of the partner may have stopped counting."""
    linked = inputs.linked_msa_by_user()
    mirrors_by_user: dict[str, list[Mirror]] = {}
    for mirror in inputs.mirrors:
        mirrors_by_user.setdefault(mirror.user_id, []).append(mirror)
    facts = {}
    for user in inputs.users:
        severed = [m for m in mirrors_by_user.get(user.user_id, []) if m.state == "severed"]
        facts[user.user_id] = PersonFacts(
            user_id=user.user_id,
            display_name=user.display_name,
            departed=user.status != "active",
            msa_moved_to_other_organisation=user.user_id not in linked and any(m.severed_to_partner_id for m in severed),
            msa_unlinked=user.user_id not in linked and bool(severed),
        )
    return facts


# --- the answers ---------------------------------------------------------------------------

AlertType = Literal[
    "competency.renewal.atrisk",
    "competency.achievement.expiring",
    "competency.level.attained",
    "membership.renewal.reminder",
    # designation alerts (the partner capability score) share this shape: ``competencyId``
    # names the designation and ``level`` its track.
    "designation.score.below70",
    "designation.metric.zero",
    "designation.certification.expiring",
]


class DeliveryOut(ApiOut):
    state: Literal["pending", "delivered", "failed"]
    attempts: int = Field(ge=0)
    last_error: str | Omitted = None
    next_attempt_at: datetime | Omitted = None
    delivered_at: datetime | Omitted = None


class AlertOut(ApiOut):  # AlertDoc.to_api
    """An alert and where its delivery stands."""

    id: str
    type: AlertType
    partner_id: str
    competency_id: str
    level: str = Field(description="silver or gold; the track of a designation alert")
    title: str
    detail: str
    cause: str
    raised_at: datetime
    user_id: str | Omitted = None
    expires_on: date | Omitted = None
    delivery: DeliveryOut


class AlertListOut(ApiOut):
    """A partner's alerts."""

    partner_id: str
    alerts: list[AlertOut]
