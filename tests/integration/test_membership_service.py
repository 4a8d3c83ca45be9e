"""Buying is judged on today's facts, and the at-risk alert follows the rule GET membership
answers with, once per episode (embedded store, the real services)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.adapters.sqlite_queue import SqliteMessageQueue
from shared.adapters.sqlite_store import SqliteDocumentStore
from shared.documents import AchievementDoc, MetricDoc, MsaMirrorDoc, UserDoc, partner_pk
from shared.domain.alert_rules import TYPE_AT_RISK, Alert, raise_alerts
from shared.domain.catalog import load_catalog
from shared.errors import Conflict
from shared.ports import Document
from shared.services.evaluation import Change, EvaluationService
from shared.services.membership import MembershipIn, MembershipService

CATALOG = load_catalog()
T0 = datetime(2026, 11, 25, 2, tzinfo=UTC)


class World:
    def __init__(self, folder: Path, expires: date | None) -> None:
        self.now = T0
        self.store = SqliteDocumentStore(folder / "s.sqlite3")
        self.alerts: list[Any] = []
        self.evaluation = EvaluationService(
            self.store,
            SqliteMessageQueue(folder / "q.sqlite3"),
            CATALOG,
            alert_window_days=60,
            clock=lambda: self.now,
            alerts=self,
        )
        self.membership = MembershipService(
            self.store, window_days=60, evaluate=lambda p: self.evaluation.evaluate_partner(p), clock=lambda: self.now
        )
        pk = partner_pk("p1")
        self.user = UserDoc(
            id=UserDoc.doc_id("u1"), user_id="u1", partner_id="p1", user_principal_name="u1@x", display_name="Ada", created_at=T0
        )
        self.store.upsert(pk, self.user.to_doc())
        mirror = MsaMirrorDoc(id=MsaMirrorDoc.doc_id("m1"), msa_id="m1", user_id="u1", state="linked", epoch=1, linked_at=T0)
        self.store.upsert(pk, mirror.to_doc())
        a = AchievementDoc(
            id=AchievementDoc.copy_id("m1", "exam", "70-533"),
            msa_id="m1",
            kind="exam",
            code="70-533",
            earned_on=date(2026, 1, 1),
            expires_on=expires,
            received_at=T0,
        )
        self.store.upsert(pk, a.to_doc())
        figure = date(2026, 10, 31)
        m = MetricDoc(
            id=MetricDoc.doc_id("cloud-platform", "revenueUsd", figure),
            competency_id="cloud-platform",
            metric="revenueUsd",
            as_of=figure,
            value=20000,
            received_at=T0,
        )
        self.store.upsert(pk, m.to_doc())

    def rules(self, change: Change) -> list[Alert]:
        return raise_alerts(
            partner_id="p1",
            previous=change.previous,
            current=dataclasses.replace(change.current, expiring=()),  # the at-risk rule alone: no expiring achievements
            held={},
            people={},
            raised_at=self.now,
            risks=change.risks,
            previous_risks=change.previous_risks,
        )

    def record(
        self, alerts: Sequence[Alert], evaluated_at: str | None, *, together: Sequence[Document] = (), partition_key: str | None = None
    ) -> list[str]:
        self.alerts += [a for a in alerts if a.type == TYPE_AT_RISK]
        if partition_key is not None:
            self.store.write_batch(partition_key, upserts=together)
        return [a.id for a in alerts]

    def depart(self) -> None:
        self.store.upsert(partner_pk("p1"), self.user.model_copy(update={"status": "departed"}).to_doc())


def test_buying_is_judged_on_todays_facts_not_last_nights(tmp_path: Path) -> None:
    world = World(tmp_path, None)
    world.evaluation.evaluate_partner("p1")  # last night: silver met
    world.depart()  # this morning: the only certified person left
    with pytest.raises(Conflict):
        world.membership.buy("p1", MembershipIn(level="silver"), actor="admin")
    assert world.membership.view("p1")["eligibleLevels"] == []


def test_the_at_risk_alert_agrees_with_get_membership_and_is_raised_once_per_episode(tmp_path: Path) -> None:
    world = World(tmp_path, T0.date() + timedelta(days=40))  # lapses before the renewal, within the window
    bought = world.membership.buy("p1", MembershipIn(level="silver"), actor="admin")
    assert bought["renewalAtRisk"] is True and [r["state"] for r in bought["renewalRisks"]] == ["lapsing"]
    assert len(world.alerts) == 1  # raised when the purchase put the renewal at risk
    world.now += timedelta(days=1)
    world.evaluation.evaluate_partner("p1")
    assert len(world.alerts) == 1  # the same episode the next night
    world.depart()
    world.evaluation.evaluate_partner("p1")
    assert len(world.alerts) == 2 and "no longer met" in world.alerts[-1].detail
    assert world.membership.view("p1")["renewalRisks"] == [{"competencyId": "cloud-platform", "level": "silver", "state": "notMet"}]


def test_no_subscription_no_at_risk_alert(tmp_path: Path) -> None:
    world = World(tmp_path, None)
    world.evaluation.evaluate_partner("p1")
    world.depart()
    world.evaluation.evaluate_partner("p1")
    assert world.alerts == []
