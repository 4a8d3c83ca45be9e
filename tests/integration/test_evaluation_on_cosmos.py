"""The same partner evaluated on the embedded store and on Cosmos DB (through azure-cosmos
against the protocol server) gives the same evaluation, with the same request counts."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.seed import partner_documents
from shared.adapters.cosmos_store import CosmosDocumentStore
from shared.adapters.sqlite_queue import SqliteMessageQueue
from shared.adapters.sqlite_store import SqliteDocumentStore
from shared.domain.catalog import load_catalog
from shared.ports import DocumentStore
from shared.services.evaluation import EvaluationService
from tests.servers import CosmosServer

CATALOG = load_catalog()
AT = datetime(2026, 11, 25, 2, tzinfo=UTC)


def seeded(store: DocumentStore) -> str:
    for pk, documents in partner_documents(CATALOG, 7, employees=12, achievements_per=4, rng=random.Random(3)).items():
        for doc in documents:
            store.upsert(pk, doc)
    return "bench-00007"


def test_cosmos_and_the_embedded_store_evaluate_alike(tmp_path: Path, cosmos: CosmosServer) -> None:
    cosmos_store = CosmosDocumentStore(
        cosmos.endpoint, database="evaluation", container=f"c{uuid.uuid4().hex[:10]}", key=cosmos.key, connection_verify=False
    )
    sqlite_store = SqliteDocumentStore(tmp_path / "s.sqlite3")
    results: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for store in (sqlite_store, cosmos_store):
        partner_id = seeded(store)
        service = EvaluationService(store, SqliteMessageQueue(tmp_path / f"q{len(results)}.sqlite3"), CATALOG, alert_window_days=60)
        store.stats.reset()
        first = service.evaluate_partner(partner_id, evaluated_at=AT)
        assert (store.stats.queries, store.stats.cross_partition_queries) == (1, 0)
        second = service.evaluate_partner(partner_id, evaluated_at=AT + timedelta(days=1))  # reused or re-computed alike
        assert service.latest(partner_id) == second
        results.append((first, second))
    assert results[0] == results[1]
    assert any(c["achievedLevel"] != "none" for c in results[0][0]["competencies"])  # the data exercises the rules
    cosmos_store.close()
