"""Progress over time: per night, each competency's level and each requirement's value,
from the stored history; an unchanged night repeats the last evaluation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from shared.adapters.sqlite_queue import SqliteMessageQueue
from shared.adapters.sqlite_store import SqliteDocumentStore
from shared.documents import AchievementDoc, MetricDoc, MsaMirrorDoc, UserDoc, partner_pk
from shared.domain.catalog import load_catalog
from shared.errors import ValidationFailed
from shared.services.evaluation import EvaluationService

CATALOG = load_catalog()
T0 = datetime(2026, 11, 20, 2, tzinfo=UTC)


def test_each_night_shows_the_level_and_the_values_of_that_night(tmp_path: Path) -> None:
    store = SqliteDocumentStore(tmp_path / "s.sqlite3")
    now = [T0]
    service = EvaluationService(store, SqliteMessageQueue(tmp_path / "q.sqlite3"), CATALOG, alert_window_days=60, clock=lambda: now[0])
    pk = partner_pk("p1")
    store.upsert(
        pk,
        UserDoc(
            id=UserDoc.doc_id("u1"), user_id="u1", partner_id="p1", user_principal_name="u@x", display_name="U", created_at=T0
        ).to_doc(),
    )
    store.upsert(pk, MsaMirrorDoc(id=MsaMirrorDoc.doc_id("m1"), msa_id="m1", user_id="u1", state="linked", epoch=1, linked_at=T0).to_doc())
    as_of = date(2026, 10, 31)
    store.upsert(
        pk,
        MetricDoc(
            id=MetricDoc.doc_id("cloud-platform", "revenueUsd", as_of),
            competency_id="cloud-platform",
            metric="revenueUsd",
            as_of=as_of,
            value=20000,
            received_at=T0,
        ).to_doc(),
    )
    service.evaluate_partner("p1", evaluated_at=T0)  # night 1: revenue, nobody certified
    service.evaluate_partner("p1", evaluated_at=T0 + timedelta(days=1))  # night 2: nothing changed
    exam = AchievementDoc(
        id=AchievementDoc.copy_id("m1", "exam", "70-533"),
        msa_id="m1",
        kind="exam",
        code="70-533",
        earned_on=date(2026, 11, 21),
        received_at=T0,
    )
    store.upsert(pk, exam.to_doc())
    service.evaluate_partner("p1", evaluated_at=T0 + timedelta(days=2))  # night 3: silver

    now[0] = T0 + timedelta(days=3)
    answer = service.history("p1", date(2026, 11, 19), None)
    assert (answer["from"], answer["to"]) == ("2026-11-19", "2026-11-23")
    nights = {n["date"]: next(c for c in n["competencies"] if c["competencyId"] == "cloud-platform") for n in answer["nights"]}
    assert sorted(nights) == ["2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23"]  # none before the first evaluation
    skill = {
        d: next(r["current"] for r in c["requirements"] if (r["level"], r["requirementId"]) == ("silver", "azure-skill"))
        for d, c in nights.items()
    }
    assert skill == {"2026-11-20": 0, "2026-11-21": 0, "2026-11-22": 1, "2026-11-23": 1}
    assert [nights[d]["achievedLevel"] for d in sorted(nights)] == ["none", "none", "silver", "silver"]
    revenue = next(r for r in nights["2026-11-20"]["requirements"] if r["requirementId"] == "azure-consumption" and r["level"] == "silver")
    assert revenue["current"] == 20000

    with pytest.raises(ValidationFailed):
        service.history("p1", date(2026, 11, 23), date(2026, 11, 19))
    with pytest.raises(ValidationFailed):
        service.history("p1", date(2025, 1, 1), date(2026, 11, 19))
