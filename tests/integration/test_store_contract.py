"""One contract for every document store: the embedded SQLite store and Cosmos DB (through
``azure-cosmos`` against the ``@vercel/cosmosdb-server`` protocol server)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.ports import ConflictError, DocumentStore, NotFoundError, PatchOp, PreconditionFailedError
from tests.servers import CosmosServer


@pytest.fixture(params=["sqlite", "cosmos"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DocumentStore]:
    if request.param == "sqlite":
        from shared.adapters.sqlite_store import SqliteDocumentStore

        s: DocumentStore = SqliteDocumentStore(tmp_path / "store.sqlite3")
    else:
        from shared.adapters.cosmos_store import CosmosDocumentStore

        server: CosmosServer = request.getfixturevalue("cosmos")
        s = CosmosDocumentStore(
            server.endpoint, database="contract", container=f"c{uuid.uuid4().hex[:12]}", key=server.key, connection_verify=False
        )
    yield s
    s.close()


def pk() -> str:
    return f"partner:{uuid.uuid4().hex[:8]}"


def test_create_then_read_returns_the_document_with_its_partition(store: DocumentStore) -> None:
    p = pk()
    created = store.create(p, {"id": "a", "type": "user", "name": "Ada"})
    read = store.read(p, "a")
    assert read is not None
    assert read.body["name"] == "Ada" and read.body["pk"] == p
    assert read.etag == created.etag and read.etag
    assert not any(k.startswith("_") for k in read.body)


def test_read_of_a_missing_document_is_none(store: DocumentStore) -> None:
    assert store.read(pk(), "missing") is None


def test_create_of_an_existing_id_conflicts_and_changes_nothing(store: DocumentStore) -> None:
    p = pk()
    store.create(p, {"id": "a", "v": 1})
    with pytest.raises(ConflictError):
        store.create(p, {"id": "a", "v": 2})
    assert store.read(p, "a").body["v"] == 1  # type: ignore[union-attr]


def test_the_same_id_in_two_partitions_is_two_documents(store: DocumentStore) -> None:
    p1, p2 = pk(), pk()
    store.create(p1, {"id": "same", "v": 1})
    store.create(p2, {"id": "same", "v": 2})
    assert store.read(p1, "same").body["v"] == 1  # type: ignore[union-attr]
    assert store.read(p2, "same").body["v"] == 2  # type: ignore[union-attr]


def test_replace_with_a_stale_etag_fails_and_keeps_the_newer_write(store: DocumentStore) -> None:
    p = pk()
    first = store.create(p, {"id": "a", "v": 1})
    second = store.replace(p, {"id": "a", "v": 2}, if_match=first.etag)
    assert second.etag != first.etag
    with pytest.raises(PreconditionFailedError):
        store.replace(p, {"id": "a", "v": 3}, if_match=first.etag)
    assert store.read(p, "a").body["v"] == 2  # type: ignore[union-attr]


def test_replace_of_a_missing_document_is_not_found(store: DocumentStore) -> None:
    with pytest.raises(NotFoundError):
        store.replace(pk(), {"id": "nope", "v": 1})


def test_upsert_creates_then_overwrites(store: DocumentStore) -> None:
    p = pk()
    store.upsert(p, {"id": "a", "v": 1})
    store.upsert(p, {"id": "a", "v": 2})
    assert store.read(p, "a").body["v"] == 2  # type: ignore[union-attr]
    assert len(store.query(p)) == 1


def test_delete_honours_the_etag_and_reports_missing(store: DocumentStore) -> None:
    p = pk()
    first = store.create(p, {"id": "a"})
    store.upsert(p, {"id": "a", "changed": True})
    with pytest.raises(PreconditionFailedError):
        store.delete(p, "a", if_match=first.etag)
    store.delete(p, "a")
    assert store.read(p, "a") is None
    with pytest.raises(NotFoundError):
        store.delete(p, "a")


def test_patch_sets_increments_and_removes_under_an_etag(store: DocumentStore) -> None:
    p = pk()
    created = store.create(p, {"id": "a", "count": 1, "state": "pending", "gone": "x"})
    patched = store.patch(
        p, "a", [PatchOp("incr", "/count", 2), PatchOp("set", "/state", "delivered"), PatchOp("remove", "/gone")], if_match=created.etag
    )
    assert patched.body["count"] == 3 and patched.body["state"] == "delivered" and "gone" not in patched.body
    with pytest.raises(PreconditionFailedError):
        store.patch(p, "a", [PatchOp("set", "/state", "failed")], if_match=created.etag)
    assert store.read(p, "a").body["state"] == "delivered"  # type: ignore[union-attr]


def test_query_filters_by_type_and_field_within_one_partition(store: DocumentStore) -> None:
    p, other = pk(), pk()
    store.create(p, {"id": "u1", "type": "user", "status": "active", "n": 2})
    store.create(p, {"id": "u2", "type": "user", "status": "departed", "n": 1})
    store.create(p, {"id": "m1", "type": "metric", "n": 3})
    store.create(other, {"id": "u3", "type": "user", "status": "active", "n": 0})
    assert {d.body["id"] for d in store.query(p, types=["user"])} == {"u1", "u2"}
    assert {d.body["id"] for d in store.query(p, types=["user", "metric"])} == {"u1", "u2", "m1"}
    assert [d.body["id"] for d in store.query(p, types=["user"], where={"status": "active"})] == ["u1"]
    assert [d.body["id"] for d in store.query(p, order_by="n")] == ["u2", "u1", "m1"]
    assert [d.body["id"] for d in store.query(p, order_by="n", descending=True, limit=2)] == ["m1", "u1"]


def test_query_on_nested_fields(store: DocumentStore) -> None:
    p = pk()
    store.create(p, {"id": "a", "type": "alert", "delivery": {"state": "pending"}})
    store.create(p, {"id": "b", "type": "alert", "delivery": {"state": "delivered"}})
    assert [d.body["id"] for d in store.query(p, where={"delivery.state": "pending"})] == ["a"]


def test_query_all_spans_partitions_for_sweeps(store: DocumentStore) -> None:
    marker = uuid.uuid4().hex
    for _ in range(3):
        store.create(pk(), {"id": "x", "type": "sweepable", "marker": marker})
    assert len(store.query_all(types=["sweepable"], where={"marker": marker})) == 3


def test_one_query_page_is_counted_as_one_request(store: DocumentStore) -> None:
    p = pk()
    for i in range(30):
        store.create(p, {"id": f"d{i}", "type": "user"})
    store.stats.reset()
    assert len(store.query(p, types=["user"])) == 30
    assert store.stats.queries == 1 and store.stats.cross_partition_queries == 0


def test_a_document_over_2_mb_is_refused_like_cosmos_db_and_changes_nothing(store: DocumentStore) -> None:
    """Cosmos DB refuses an item over 2 MB with 413; both stores refuse it, on every write."""
    from shared.ports import MAX_ITEM_BYTES, DocumentTooLargeError

    p = pk()
    store.create(p, {"id": "a", "blob": "x" * (MAX_ITEM_BYTES - 1024)})  # just under: accepted
    big = "y" * (MAX_ITEM_BYTES + 1)
    with pytest.raises(DocumentTooLargeError):
        store.create(p, {"id": "b", "blob": big})
    with pytest.raises(DocumentTooLargeError):
        store.upsert(p, {"id": "a", "blob": big})
    with pytest.raises(DocumentTooLargeError):
        store.replace(p, {"id": "a", "blob": big})
    with pytest.raises(DocumentTooLargeError):
        store.patch(p, "a", [PatchOp("set", "/more", "z" * 2048)])
    assert store.read(p, "b") is None
    assert "more" not in store.read(p, "a").body  # type: ignore[union-attr]
    assert store.read(p, "a").body["blob"].startswith("x")  # type: ignore[union-attr]


def test_a_batch_writes_its_creates_and_upserts_in_one_request(store: DocumentStore) -> None:
    p = pk()
    store.create(p, {"id": "kept", "v": 1})
    store.stats.reset()
    store.write_batch(p, creates=[{"id": "a1", "type": "alert"}, {"id": "a2", "type": "alert"}], upserts=[{"id": "kept", "v": 2}])
    assert store.read(p, "a1") is not None and store.read(p, "a2") is not None
    assert store.read(p, "kept").body["v"] == 2  # type: ignore[union-attr]
    assert store.read(p, "a1").body["pk"] == p  # type: ignore[union-attr]
    assert store.stats.batches == 1 and store.stats.writes == 3 and store.stats.write_requests == 1


def test_a_batch_whose_create_meets_an_existing_id_writes_nothing(store: DocumentStore) -> None:
    """Cosmos DB's transactional batch is all or nothing: a 409 on one create undoes the rest."""
    p = pk()
    store.create(p, {"id": "seen", "v": 1})
    store.create(p, {"id": "kept", "v": 1})
    with pytest.raises(ConflictError):
        store.write_batch(p, creates=[{"id": "new", "v": 1}, {"id": "seen", "v": 2}], upserts=[{"id": "kept", "v": 2}, {"id": "other"}])
    assert store.read(p, "new") is None and store.read(p, "other") is None
    assert store.read(p, "seen").body["v"] == 1  # type: ignore[union-attr]
    assert store.read(p, "kept").body["v"] == 1  # type: ignore[union-attr]


def test_a_batch_over_cosmos_db_limits_is_sent_in_parts_and_every_document_is_written(store: DocumentStore) -> None:
    """At most 100 operations and 2 MB a transactional batch: 250 small documents, and 250 of
    30 KB (7.5 MB; 100 of them would be 3 MB), still land."""
    p = pk()
    store.write_batch(p, creates=[{"id": f"s{i:03d}", "type": "alert"} for i in range(250)])
    store.write_batch(p, upserts=[{"id": f"d{i:03d}", "type": "metric", "blob": "x" * 30_000} for i in range(250)])
    assert len(store.query(p, types=["alert"])) == 250
    assert len(store.query(p, types=["metric"])) == 250


def test_a_batch_with_a_document_over_2_mb_is_refused_and_writes_nothing(store: DocumentStore) -> None:
    from shared.ports import MAX_ITEM_BYTES, DocumentTooLargeError

    p = pk()
    with pytest.raises(DocumentTooLargeError):
        store.write_batch(p, creates=[{"id": "small"}], upserts=[{"id": "big", "blob": "y" * (MAX_ITEM_BYTES + 1)}])
    assert store.read(p, "small") is None and store.read(p, "big") is None
