"""The evaluation service: an unchanged partner is not re-computed before its stable-until
day, any input write or a crossed date re-computes, and the result is the same either way."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.adapters.sqlite_queue import SqliteMessageQueue
from shared.adapters.sqlite_store import SqliteDocumentStore
from shared.documents import AchievementDoc, MetricDoc, MsaMirrorDoc, UserDoc, partner_pk
from shared.domain.catalog import load_catalog
from shared.services.evaluation import EvaluationService

CATALOG = load_catalog()
T0 = datetime(2026, 11, 25, 2, tzinfo=UTC)


@pytest.fixture
def world(tmp_path: Path) -> tuple[SqliteDocumentStore, EvaluationService, list[int]]:
    store = SqliteDocumentStore(tmp_path / "s.sqlite3")
    service = EvaluationService(store, SqliteMessageQueue(tmp_path / "q.sqlite3"), CATALOG, alert_window_days=60)
    pk = partner_pk("p1")
    store.upsert(
        pk,
        UserDoc(
            id=UserDoc.doc_id("u1"), user_id="u1", partner_id="p1", user_principal_name="u1@x", display_name="U1", created_at=T0
        ).to_doc(),
    )
    store.upsert(pk, MsaMirrorDoc(id=MsaMirrorDoc.doc_id("m1"), msa_id="m1", user_id="u1", state="linked", epoch=1, linked_at=T0).to_doc())
    expires = date(2027, 2, 28)  # its last day: the lapse (2027-03-01) enters the 60-day window on 2026-12-31
    achievement = AchievementDoc(
        id=AchievementDoc.copy_id("m1", "exam", "70-533"),
        msa_id="m1",
        kind="exam",
        code="70-533",
        earned_on=date(2026, 1, 1),
        expires_on=expires,
        received_at=T0,
    )
    store.upsert(pk, achievement.to_doc())
    metric = MetricDoc(
        id=MetricDoc.doc_id("cloud-platform", "revenueUsd", date(2026, 10, 31)),
        competency_id="cloud-platform",
        metric="revenueUsd",
        as_of=date(2026, 10, 31),
        value=20000,
        received_at=T0,
    )
    store.upsert(pk, metric.to_doc())
    computed: list[int] = []
    original = service.compute

    def counting(*args: Any, **kwargs: Any) -> Any:
        computed.append(1)
        return original(*args, **kwargs)

    service.compute = counting  # type: ignore[method-assign]
    return store, service, computed


def test_an_unchanged_partner_is_reused_until_a_date_that_matters(world: tuple[SqliteDocumentStore, EvaluationService, list[int]]) -> None:
    store, service, computed = world
    first = service.evaluate_partner("p1", evaluated_at=T0)
    assert len(computed) == 1
    second = service.evaluate_partner("p1", evaluated_at=T0 + timedelta(days=1))
    assert len(computed) == 1  # nothing changed: not re-computed
    assert second == {**first, "evaluatedAt": "2026-11-26T02:00:00Z"}
    service.evaluate_partner("p1", evaluated_at=datetime(2026, 12, 31, 2, tzinfo=UTC))  # the expiry enters the window
    assert len(computed) == 2
    fresh = EvaluationService(store, SqliteMessageQueue(":memory:"), CATALOG, alert_window_days=60)
    reused = service.evaluate_partner("p1", evaluated_at=datetime(2027, 1, 5, 2, tzinfo=UTC))
    assert reused == fresh.compute(fresh.read_inputs("p1"), datetime(2027, 1, 5, 2, tzinfo=UTC))[0].to_api()


def test_any_write_to_an_input_re_computes(world: tuple[SqliteDocumentStore, EvaluationService, list[int]]) -> None:
    store, service, computed = world
    service.evaluate_partner("p1", evaluated_at=T0)
    user = store.read(partner_pk("p1"), UserDoc.doc_id("u1"))
    assert user is not None
    store.upsert(partner_pk("p1"), {**user.body, "status": "departed"})
    after = service.evaluate_partner("p1", evaluated_at=T0 + timedelta(days=1))
    assert len(computed) == 2
    assert next(c for c in after["competencies"] if c["competencyId"] == "cloud-platform")["achievedLevel"] == "none"


def test_going_back_in_time_re_computes(world: tuple[SqliteDocumentStore, EvaluationService, list[int]]) -> None:
    _, service, computed = world
    service.evaluate_partner("p1", evaluated_at=T0)
    service.evaluate_partner("p1", evaluated_at=T0 - timedelta(days=1))
    assert len(computed) == 2


@pytest.mark.parametrize("employees", [1, 40])
def test_reading_a_partner_costs_one_single_partition_query_whatever_its_size(tmp_path: Path, employees: int) -> None:
    store = SqliteDocumentStore(tmp_path / "s.sqlite3")
    service = EvaluationService(store, SqliteMessageQueue(tmp_path / "q.sqlite3"), CATALOG, alert_window_days=60)
    pk = partner_pk("p1")
    for i in range(employees):
        store.upsert(
            pk,
            UserDoc(
                id=UserDoc.doc_id(f"u{i}"), user_id=f"u{i}", partner_id="p1", user_principal_name=f"u{i}@x", display_name="U", created_at=T0
            ).to_doc(),
        )
        store.upsert(
            pk,
            MsaMirrorDoc(id=MsaMirrorDoc.doc_id(f"m{i}"), msa_id=f"m{i}", user_id=f"u{i}", state="linked", epoch=1, linked_at=T0).to_doc(),
        )
    store.stats.reset()
    service.evaluate_partner("p1", evaluated_at=T0)
    assert (store.stats.queries, store.stats.cross_partition_queries, store.stats.point_reads) == (1, 0, 0)
