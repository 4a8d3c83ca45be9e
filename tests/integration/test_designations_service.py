"""Designations in the nightly evaluation, on the embedded store: the feed (validated,
idempotent, newest wins), the score stored with the evaluation, alerts on a change, the
reuse of an unchanged partner, the simulator (stores nothing) and enrolment."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.adapters.sqlite_queue import SqliteMessageQueue
from shared.adapters.sqlite_store import SqliteDocumentStore
from shared.documents import EVALUATION_INPUT_TYPES, AchievementDoc, MsaMirrorDoc, UserDoc, partner_pk
from shared.domain import designations as pcs
from shared.domain.catalog import load_catalog
from shared.domain.designations import load_designations
from shared.errors import Conflict, ValidationFailed
from shared.services.designations import DESIGNATION_INPUT_TYPES, CustomerFactsIn, DesignationService, SimulationIn
from shared.services.evaluation import EvaluationService

T0 = datetime(2026, 11, 25, 2, tzinfo=UTC)
CERTS = ["AZ-104", "AZ-104", "AZ-700", "AZ-800", "AZ-800", "AZ-800", "AZ-305", "AZ-305", "AZ-140"]


class World:
    """The real services; the outbox keeps the designations' alerts (the competencies' rules
    are not this file's subject)."""

    def rules(self, change: Any) -> list[Any]:
        return []

    def record(
        self, alerts: Sequence[Any], evaluated_at: str | None, *, together: Sequence[Any] = (), partition_key: str | None = None
    ) -> list[str]:
        self.alerts.extend(alerts)
        if partition_key is not None:
            self.store.write_batch(partition_key, upserts=together)
        return [a.id for a in alerts]

    def __init__(self, tmp_path: Path) -> None:
        self.store = SqliteDocumentStore(tmp_path / "s.sqlite3")
        self.alerts: list[Any] = []
        self.now = T0
        self.designations = DesignationService(
            self.store,
            load_designations(),
            alert_window_days=60,
            clock=lambda: self.now,
        )
        self.evaluations = EvaluationService(
            self.store,
            SqliteMessageQueue(tmp_path / "q.sqlite3"),
            load_catalog(),
            alert_window_days=60,
            designations=self.designations,
            alerts=self,
        )
        pk = partner_pk("p1")
        for n, code in enumerate(CERTS):
            self.store.upsert(
                pk,
                UserDoc(
                    id=UserDoc.doc_id(f"u{n}"),
                    user_id=f"u{n}",
                    partner_id="p1",
                    user_principal_name=f"u{n}@x",
                    display_name=f"U{n}",
                    created_at=T0,
                ).to_doc(),
            )
            self.store.upsert(
                pk,
                MsaMirrorDoc(
                    id=MsaMirrorDoc.doc_id(f"m{n}"), msa_id=f"m{n}", user_id=f"u{n}", state="linked", epoch=1, linked_at=T0
                ).to_doc(),
            )
            self.store.upsert(
                pk,
                AchievementDoc(
                    id=AchievementDoc.copy_id(f"m{n}", "certification", code),
                    msa_id=f"m{n}",
                    kind="certification",
                    code=code,
                    earned_on=date(2026, 1, 1),
                    received_at=T0,
                ).to_doc(),
            )

    def feed(self, month: str, facts: list[dict[str, Any]], produced: datetime = T0) -> Any:
        return self.designations.put_customer_facts(
            "p1", month, CustomerFactsIn.model_validate({"producedAt": produced.isoformat(), "facts": facts})
        )

    def feed_customers(self, adds: int = 3) -> None:
        """t0 spent USD 200 a month for two years and grew to 1,000; t1, t2 joined since September."""
        for k in range(2, 24):
            month = date(2026, 10, 1) - timedelta(days=31 * k)
            self.feed(month.strftime("%Y-%m"), [sql("t0", 200)])
        extras = [
            {"customerTenantId": "t0", "workload": w, "association": "CSP", "revenueUsd": 10} for w in ("azure-storage", "azure-functions")
        ]
        self.feed("2026-09", [sql(f"t{i}", 1000) for i in range(adds)])
        self.feed("2026-10", [sql(f"t{i}", 1000) for i in range(adds)] + extras)

    def infrastructure(self, at: datetime = T0) -> dict[str, Any]:
        self.now = at
        self.evaluations.evaluate_partner("p1", evaluated_at=at)
        return self.designations.view("p1", "infrastructure-azure")


def sql(tenant: str, usd: float) -> dict[str, Any]:
    return {"customerTenantId": tenant, "workload": "azure-sql-database", "association": "CSP", "revenueUsd": usd}


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def test_the_evaluation_reads_the_designation_documents_in_its_one_query() -> None:
    assert set(DESIGNATION_INPUT_TYPES) <= set(EVALUATION_INPUT_TYPES)


def test_the_nightly_evaluation_scores_designations_and_stores_them_with_the_evaluation(world: World) -> None:
    world.feed_customers()
    world.store.stats.reset()
    answer = world.infrastructure()
    assert world.store.stats.queries == 1 and world.store.stats.point_reads == 2  # the query; the view's reads
    assert answer["score"] == 76 and answer["status"] == "qualified" and answer["qualifiesToday"]
    assert answer["evaluatedAt"] == "2026-11-25T02:00:00Z"
    assert answer["fallsBelow70On"] == "2027-10-01"
    assert {c["userId"] for c in answer["cannotLose"] if c["kind"] == "person"} == {"u0", "u1", "u6", "u7", "u8"}
    # The competencies' answer and document do not carry the designations.
    assert "designations" not in world.evaluations.latest("p1")
    evaluation = world.store.read(partner_pk("p1"), "evaluation")
    assert evaluation is not None and not [key for key in evaluation.body if "designation" in key.lower()]


def test_an_unchanged_partner_is_reused_and_the_month_rolls_the_window(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.feed_customers()
    world.infrastructure()
    computed: list[int] = []
    original = pcs.evaluate_designations

    def counting(*args: Any, **kwargs: Any) -> Any:
        computed.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(pcs, "evaluate_designations", counting)
    reused = world.infrastructure(T0 + timedelta(days=1))
    assert computed == []
    assert reused["qualificationWindow"] == {"from": "2026-06-01", "to": "2026-11-26"} and reused["score"] == 76
    assert reused["evaluatedAt"] == "2026-11-26T02:00:00Z"
    # A competency input changes: the competencies are computed again, the designations reused.
    other = AchievementDoc(
        id=AchievementDoc.copy_id("m0", "exam", "70-533"),
        msa_id="m0",
        kind="exam",
        code="70-533",
        earned_on=date(2026, 1, 1),
        received_at=T0,
    )
    world.store.upsert(partner_pk("p1"), other.to_doc())
    assert world.infrastructure(T0 + timedelta(days=2))["evaluatedAt"] == "2026-11-27T02:00:00Z"
    assert computed == []
    december = world.infrastructure(datetime(2026, 12, 1, 2, tzinfo=UTC))
    assert computed == [1]
    assert december["qualificationWindow"] == {"from": "2026-07-01", "to": "2026-12-01"}
    assert [h["highestScore"] for h in december["history"]][-2:] == [76, 76]


def test_losing_the_only_advanced_certification_raises_a_metric_at_zero_alert_once(world: World) -> None:
    world.feed_customers()
    world.infrastructure()
    assert world.alerts == []
    world.store.upsert(partner_pk("p1"), {**world.store.read(partner_pk("p1"), UserDoc.doc_id("u8")).body, "status": "departed"})  # type: ignore[union-attr]
    answer = world.infrastructure(T0 + timedelta(days=1))
    assert answer["score"] == 72 and answer["status"] == "qualified"  # it qualified on a day of the window
    assert [(a.type, a.competency_id, a.level) for a in world.alerts] == [("designation.metric.zero", "infrastructure-azure", "standard")]
    world.infrastructure(T0 + timedelta(days=2))
    assert len({a.id for a in world.alerts}) == 1


def test_a_score_below_70_and_an_expiring_certification_raise_alerts(world: World) -> None:
    world.feed_customers()
    pk = partner_pk("p1")
    expiring = world.store.read(pk, AchievementDoc.copy_id("m2", "certification", "AZ-700"))
    assert expiring is not None
    world.store.upsert(pk, {**expiring.body, "expiresOn": "2026-12-20"})
    world.infrastructure()
    assert [(a.type, a.subject_user_id, a.expires_on) for a in world.alerts] == [
        ("designation.certification.expiring", "u2", date(2026, 12, 20))
    ]
    for month in ("2026-09", "2026-10"):  # corrected feeds: t1 and t2 were never customers
        world.feed(month, [sql("t0", 1000)], produced=T0 + timedelta(hours=1))
    answer = world.infrastructure(T0 + timedelta(days=1))
    assert answer["score"] < 70
    below = [a for a in world.alerts if a.type == "designation.score.below70"]
    assert len(below) == 1 and below[0].title == "The partner capability score of Infrastructure (Azure) fell below 70"


def test_the_feed_is_validated_idempotent_and_the_newest_feed_of_a_month_wins(world: World) -> None:
    with pytest.raises(ValidationFailed) as refused:
        world.feed(
            "2026-10",
            [sql("t1", 5000), {"customerTenantId": "t2", "workload": "azure-sql-database", "association": "GDAP", "revenueUsd": 1}],
        )
    assert refused.value.errors == [{"pointer": "#/facts/1/association", "detail": "GDAP is not an eligible association"}]
    with pytest.raises(ValidationFailed):
        world.feed("2026-10", [{"customerTenantId": "t2", "workload": "minecraft", "association": "CSP", "revenueUsd": 1}])
    with pytest.raises(ValidationFailed):
        world.feed("2026-12", [sql("t1", 5000)])  # not started yet
    with pytest.raises(ValidationFailed):
        world.feed("2026-10", [sql("t1", 5000)], produced=T0 + timedelta(days=2))  # it would win over every correction
    assert world.store.read(partner_pk("p1"), "customerFacts:2026-10") is None  # nothing stored
    assert world.feed("2026-10", [sql("t1", 5000), sql("t1", 6000)]).stored
    assert world.store.read(partner_pk("p1"), "customerFacts:2026-10").body["facts"] == [  # type: ignore[union-attr]
        {"t": "t1", "w": "azure-sql-database", "a": "CSP", "r": 6000.0}
    ]
    etag = world.store.read(partner_pk("p1"), "customerFacts:2026-10").etag  # type: ignore[union-attr]
    assert world.feed("2026-10", [sql("t1", 6000)]).detail == "Already stored."
    assert world.store.read(partner_pk("p1"), "customerFacts:2026-10").etag == etag  # type: ignore[union-attr]
    stale = world.feed("2026-10", [sql("t1", 1)], produced=T0 - timedelta(days=1))
    assert not stale.stored and "newer feed" in stale.detail
    world.now = T0 + timedelta(days=1)
    assert world.feed("2026-10", [sql("t9", 7)], produced=T0 + timedelta(days=1)).stored
    assert world.store.read(partner_pk("p1"), "customerFacts:2026-10").body["facts"][0]["t"] == "t9"  # type: ignore[union-attr]


def test_the_simulator_answers_the_score_and_stores_nothing(world: World) -> None:
    world.feed_customers(adds=1)
    world.infrastructure()
    before = world.store.stats.writes
    answer = world.designations.simulate(
        "p1",
        SimulationIn.model_validate(
            {
                "designationId": "infrastructure-azure",
                "customers": [sql("new-1", 1500), sql("new-2", 1500)],
                "certifications": [{"code": "AZ-120", "people": 1}],
            }
        ),
    )
    assert world.store.stats.writes == before
    [infra] = answer["designations"]
    assert (infra["baselineScore"], infra["score"], infra["qualifies"]) == (56, 80, True)
    with pytest.raises(ValidationFailed):
        world.designations.simulate("p1", SimulationIn.model_validate({"certifications": [{"code": "AZ-120", "userId": "nobody"}]}))


def test_enrolment_shares_one_anniversary_and_refuses_what_has_not_qualified(world: World) -> None:
    world.feed_customers()
    world.infrastructure()
    with pytest.raises(Conflict, match="has not qualified"):
        world.designations.enrol("p1", "security", actor="admin")
    out, changed = world.designations.enrol("p1", "infrastructure-azure", actor="admin")
    assert changed and out.outcome == "enrolled" and out.anniversary == date(2027, 11, 25)
    again, changed = world.designations.enrol("p1", "infrastructure-azure", actor="admin")
    assert not changed and again.outcome == "unchanged"
    assert world.infrastructure(T0 + timedelta(days=1))["status"] == "enrolled"
