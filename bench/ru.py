"""Cosmos DB request units from measured request counts and document sizes.

The embedded store reports no request charge, and the Cosmos protocol server used in tests
answers every request with a constant ``x-ms-request-charge: 1``; so the charge is computed
with the published model (bench/README.md, "Request units"):

- point read: 1 RU for an item up to 1 KB, rising linearly to 10 RU at 100 KB;
- single-partition query: 2.8 RU per page plus 1 RU per KB returned;
- create: 5.71 RU per KB (at least 1 KB), default indexing;
- upsert / replace of an existing item: 10.67 RU per KB (at least 1 KB);
- a transactional batch: the sum of its operations' charges (one request).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any

POINT_READ_RU = 1.0
POINT_READ_RU_PER_EXTRA_KB = 9 / 99  # 1 RU at 1 KB, 10 RU at 100 KB
QUERY_PAGE_RU = 2.8
QUERY_RU_PER_KB = 1.0
CREATE_RU_PER_KB = 5.71
REPLACE_RU_PER_KB = 10.67


def _kb(document: Any) -> float:
    return len(json.dumps(document, separators=(",", ":"))) / 1024


@dataclass
class Meter:
    """What a store was asked, with the sizes of what went in and out."""

    point_reads: int = 0
    point_read_ru: float = 0.0
    queries: int = 0
    query_documents: int = 0
    query_kb: float = 0.0
    creates: int = 0
    create_kb: float = 0.0
    upserts: int = 0
    upsert_kb: float = 0.0
    create_ru: float = 0.0
    upsert_ru: float = 0.0
    batches: int = 0
    batched: int = 0  # documents written by batches

    def reset(self) -> None:
        for f in fields(self):
            setattr(self, f.name, f.default)

    @property
    def request_units(self) -> float:
        return self.point_read_ru + self.queries * QUERY_PAGE_RU + self.query_kb * QUERY_RU_PER_KB + self.create_ru + self.upsert_ru

    def per_partner(self, partners: int) -> dict[str, float]:
        return {
            "request_units": round(self.request_units / partners, 1),
            "read_request_units": round((self.point_read_ru + self.queries * QUERY_PAGE_RU + self.query_kb) / partners, 1),
            "write_request_units": round((self.create_ru + self.upsert_ru) / partners, 1),
            "kb_read": round(self.query_kb / partners, 1),
            "documents_read": round(self.query_documents / partners, 1),
            "writes": round((self.creates + self.upserts) / partners, 2),
            "creates": round(self.creates / partners, 2),  # the new alerts (everything else is an upsert)
            "write_requests": round((self.creates + self.upserts - self.batched + self.batches) / partners, 2),
            "kb_written": round((self.create_kb + self.upsert_kb) / partners, 2),
        }


def meter(store: Any) -> Meter:
    """Wrap a store instance's methods (the services hold the same instance) to measure them."""
    m = Meter()
    read, query, create, upsert, batch = store.read, store.query, store.create, store.upsert, store.write_batch

    def metered_read(partition_key: str, doc_id: str) -> Any:
        stored = read(partition_key, doc_id)
        m.point_reads += 1
        kb = _kb(stored.body) if stored is not None else 0.0
        m.point_read_ru += POINT_READ_RU + max(0.0, kb - 1) * POINT_READ_RU_PER_EXTRA_KB
        return stored

    def metered_query(partition_key: str, **kwargs: Any) -> Any:
        result = query(partition_key, **kwargs)
        m.queries += 1
        m.query_documents += len(result)
        m.query_kb += sum(_kb(s.body) for s in result)
        return result

    def written(body: Any, *, created: bool) -> None:
        kb = _kb(body)
        if created:
            m.creates += 1
            m.create_kb += kb
            m.create_ru += CREATE_RU_PER_KB * max(1.0, kb)
        else:
            m.upserts += 1
            m.upsert_kb += kb
            m.upsert_ru += REPLACE_RU_PER_KB * max(1.0, kb)

    def metered_create(partition_key: str, doc: Any) -> Any:
        stored = create(partition_key, doc)
        written(stored.body, created=True)
        return stored

    def metered_upsert(partition_key: str, doc: Any) -> Any:
        stored = upsert(partition_key, doc)
        written(stored.body, created=False)
        return stored

    def metered_batch(partition_key: str, *, creates: Any = (), upserts: Any = ()) -> None:
        batch(partition_key, creates=creates, upserts=upserts)
        m.batches += 1
        m.batched += len(creates) + len(upserts)
        for doc in creates:
            written({**doc, "pk": partition_key}, created=True)
        for doc in upserts:
            written({**doc, "pk": partition_key}, created=False)

    store.read, store.query, store.create, store.upsert = metered_read, metered_query, metered_create, metered_upsert
    store.write_batch = metered_batch
    return m
