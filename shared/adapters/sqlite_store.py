"""The embedded document store: one SQLite file, the default when Cosmos DB is not configured.

Same semantics as the Cosmos DB adapter (ids unique per partition, ETags, 409/412, patch,
structured queries), proven by the same contract tests.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shared.ports import (
    MAX_ITEM_BYTES,
    ConflictError,
    Document,
    DocumentTooLargeError,
    NotFoundError,
    OneOf,
    PatchOp,
    PreconditionFailedError,
    Stored,
    StoreStats,
    StoreUnavailableError,
    field_parts,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    pk TEXT NOT NULL,
    id TEXT NOT NULL,
    type TEXT,
    etag TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (pk, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS documents_by_type ON documents (type);
"""


# What a query binds: sqlite3's own value types (a JSON field compared as its JSON text).
SqlValue = str | int | float | bytes | None


def _json_path(field: str) -> str:
    return "$." + ".".join(field_parts(field))


def apply_patch(body: Document, operations: Sequence[PatchOp]) -> Document:
    """Cosmos DB partial-update semantics on a plain document (shared with tests)."""
    result: Document = json.loads(json.dumps(body))  # a deep copy, as the JSON the store keeps
    for op in operations:
        keys = [k for k in op.path.split("/") if k]
        if not keys or keys[0] in ("id", "pk"):
            raise ValueError(f"cannot patch {op.path!r}")
        parent: dict[str, Any] = result
        for key in keys[:-1]:
            if key not in parent or not isinstance(parent[key], dict):
                if op.op == "remove":
                    raise NotFoundError(f"no field {op.path}")
                parent[key] = {}
            parent = parent[key]
        last = keys[-1]
        if op.op in ("set", "add"):
            if op.op == "add" and isinstance(parent.get(last), list):
                parent[last].append(op.value)
            else:
                parent[last] = op.value
        elif op.op == "incr":
            current = parent.get(last, 0)
            if not isinstance(current, (int, float)) or isinstance(current, bool):
                raise ValueError(f"{op.path} is not a number")
            parent[last] = current + op.value
        elif op.op == "remove":
            if last not in parent:
                raise NotFoundError(f"no field {op.path}")
            del parent[last]
    return result


class SqliteDocumentStore:
    def __init__(self, path: Path | str) -> None:
        self._path = str(path)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self.stats = StoreStats()

    # --- helpers --------------------------------------------------------------------------

    @staticmethod
    def _prepare(partition_key: str, doc: Document) -> Document:
        if not isinstance(doc.get("id"), str) or not doc["id"]:
            raise ValueError("a document needs a non-empty string id")
        return {**doc, "pk": partition_key}

    @staticmethod
    def _encode(body: Document) -> str:
        """The stored JSON; refused over Cosmos DB's 2 MB item limit, as Cosmos DB refuses it."""
        text = json.dumps(body)
        size = len(text.encode("utf-8"))
        if size > MAX_ITEM_BYTES:
            raise DocumentTooLargeError(f"{body.get('id')} is {size} bytes; a document holds at most {MAX_ITEM_BYTES}")
        return text

    def _row(self, partition_key: str, doc_id: str) -> tuple[str, str] | None:
        row = self._db.execute("SELECT body, etag FROM documents WHERE pk = ? AND id = ?", (partition_key, doc_id)).fetchone()
        return None if row is None else (row[0], row[1])

    def _write(self, sql: str, args: tuple[SqlValue, ...]) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, args)
        except sqlite3.OperationalError as exc:  # locked or unreadable file
            raise StoreUnavailableError(str(exc)) from exc

    # --- the port -------------------------------------------------------------------------

    def read(self, partition_key: str, doc_id: str) -> Stored | None:
        with self._lock:
            self.stats.point_reads += 1
            row = self._row(partition_key, doc_id)
        return None if row is None else Stored(json.loads(row[0]), row[1])

    def create(self, partition_key: str, doc: Document) -> Stored:
        body = self._prepare(partition_key, doc)
        etag = uuid.uuid4().hex
        with self._lock:
            self.stats.writes += 1
            try:
                self._write(
                    "INSERT INTO documents (pk, id, type, etag, body) VALUES (?, ?, ?, ?, ?)",
                    (partition_key, body["id"], body.get("type"), etag, self._encode(body)),
                )
            except sqlite3.IntegrityError:
                raise ConflictError(f"{body['id']} exists in {partition_key}") from None
        return Stored(body, etag)

    def upsert(self, partition_key: str, doc: Document) -> Stored:
        body = self._prepare(partition_key, doc)
        etag = uuid.uuid4().hex
        with self._lock:
            self.stats.writes += 1
            self._write(
                "INSERT INTO documents (pk, id, type, etag, body) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (pk, id) DO UPDATE SET type = excluded.type, etag = excluded.etag, body = excluded.body",
                (partition_key, body["id"], body.get("type"), etag, self._encode(body)),
            )
        return Stored(body, etag)

    def write_batch(self, partition_key: str, *, creates: Sequence[Document] = (), upserts: Sequence[Document] = ()) -> None:
        """One transaction (SQLite has no batch limits; Cosmos DB's chunking changes nothing
        here: its chunks are all or nothing too)."""
        encoded = [
            [
                (partition_key, body["id"], body.get("type"), uuid.uuid4().hex, self._encode(body))
                for body in (self._prepare(partition_key, d) for d in docs)
            ]
            for docs in (creates, upserts)
        ]
        with self._lock:
            self.stats.batches += 1
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._db.executemany("INSERT INTO documents (pk, id, type, etag, body) VALUES (?, ?, ?, ?, ?)", encoded[0])
                    self._db.executemany(
                        "INSERT INTO documents (pk, id, type, etag, body) VALUES (?, ?, ?, ?, ?) "
                        "ON CONFLICT (pk, id) DO UPDATE SET type = excluded.type, etag = excluded.etag, body = excluded.body",
                        encoded[1],
                    )
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.IntegrityError:
                raise ConflictError(f"a document created by the batch exists in {partition_key}") from None
            except sqlite3.OperationalError as exc:  # locked or unreadable file
                raise StoreUnavailableError(str(exc)) from exc
            written = len(creates) + len(upserts)
            self.stats.writes += written
            self.stats.batched += written

    def upsert_many(self, partition_key: str, docs: Sequence[Document]) -> None:
        """Many upserts in one transaction (seeding and benchmarks; not part of the port)."""
        self.upsert_across([(partition_key, doc) for doc in docs])

    def upsert_across(self, items: Sequence[tuple[str, Document]]) -> None:
        """Upserts into several partitions in one transaction (seeding and benchmarks)."""
        rows = []
        for partition_key, doc in items:
            body = self._prepare(partition_key, doc)
            rows.append((partition_key, body["id"], body.get("type"), uuid.uuid4().hex, self._encode(body)))
        with self._lock:
            self.stats.writes += len(rows)
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO documents (pk, id, type, etag, body) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (pk, id) DO UPDATE SET type = excluded.type, etag = excluded.etag, body = excluded.body",
                rows,
            )
            self._db.execute("COMMIT")

    def clone_partition(self, partition_key: str, token: str, replacements: Sequence[str]) -> None:
        """Copies of one partition with ``token`` replaced in keys, ids and bodies, each with
        fresh ETags, in one transaction, then checkpointed (seeding many partners for
        benchmarks; not the port)."""
        with self._lock:
            self._db.execute("BEGIN")
            for value in replacements:
                cursor = self._db.execute(
                    "INSERT OR REPLACE INTO documents (pk, id, type, etag, body) "
                    "SELECT replace(pk, ?1, ?2), replace(id, ?1, ?2), type, lower(hex(randomblob(16))), replace(body, ?1, ?2) "
                    "FROM documents WHERE pk = ?3",
                    (token, value, partition_key),
                )
                self.stats.writes += cursor.rowcount
            self._db.execute("COMMIT")
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # not left to the next small write

    def replace(self, partition_key: str, doc: Document, *, if_match: str | None = None) -> Stored:
        body = self._prepare(partition_key, doc)
        text = self._encode(body)
        etag = uuid.uuid4().hex
        with self._lock:
            self.stats.writes += 1
            self._check(partition_key, body["id"], if_match)
            self._write(
                "UPDATE documents SET type = ?, etag = ?, body = ? WHERE pk = ? AND id = ?",
                (body.get("type"), etag, text, partition_key, body["id"]),
            )
        return Stored(body, etag)

    def _check(self, partition_key: str, doc_id: str, if_match: str | None) -> tuple[str, str]:
        row = self._row(partition_key, doc_id)
        if row is None:
            raise NotFoundError(f"{doc_id} not found in {partition_key}")
        if if_match is not None and row[1] != if_match:
            raise PreconditionFailedError(f"{doc_id} changed since it was read")
        return row

    def delete(self, partition_key: str, doc_id: str, *, if_match: str | None = None) -> None:
        with self._lock:
            self.stats.writes += 1
            self._check(partition_key, doc_id, if_match)
            self._write("DELETE FROM documents WHERE pk = ? AND id = ?", (partition_key, doc_id))

    def patch(self, partition_key: str, doc_id: str, operations: Sequence[PatchOp], *, if_match: str | None = None) -> Stored:
        with self._lock:
            self.stats.writes += 1
            row = self._check(partition_key, doc_id, if_match)
            body = apply_patch(json.loads(row[0]), operations)
            etag = uuid.uuid4().hex
            self._write(
                "UPDATE documents SET type = ?, etag = ?, body = ? WHERE pk = ? AND id = ?",
                (body.get("type"), etag, self._encode(body), partition_key, doc_id),
            )
        return Stored(body, etag)

    def _select(
        self,
        partition_key: str | None,
        types: Sequence[str] | None,
        where: Mapping[str, Any] | None,
        order_by: str | None,
        descending: bool,
        limit: int | None,
    ) -> list[Stored]:
        clauses: list[str] = []
        args: list[SqlValue] = []
        if partition_key is not None:
            clauses.append("pk = ?")
            args.append(partition_key)
        if types:
            clauses.append(f"type IN ({', '.join('?' for _ in types)})")
            args.extend(types)
        for field, value in (where or {}).items():
            if value is None:
                clauses.append(f"json_extract(body, '{_json_path(field)}') IS NULL")
            elif isinstance(value, OneOf):
                clauses.append(f"json_extract(body, '{_json_path(field)}') IN ({', '.join('?' for _ in value.values) or 'NULL'})")
                args.extend(value.values)
            else:
                clauses.append(f"json_extract(body, '{_json_path(field)}') = ?")
                args.append(json.dumps(value) if isinstance(value, (dict, list)) else value)
        sql = "SELECT body, etag FROM documents"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        if order_by:
            sql += f" ORDER BY json_extract(body, '{_json_path(order_by)}') {'DESC' if descending else 'ASC'}, id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        if not rows:
            return []
        # One decode for the whole page: per-document json.loads calls cost more than parsing.
        bodies = json.loads("[" + ",".join(body for body, _ in rows) + "]")
        return [Stored(body, etag) for body, (_, etag) in zip(bodies, rows, strict=True)]

    def query(
        self,
        partition_key: str,
        *,
        types: Sequence[str] | None = None,
        where: Mapping[str, Any] | None = None,
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
    ) -> list[Stored]:
        self.stats.queries += 1
        return self._select(partition_key, types, where, order_by, descending, limit)

    def query_all(
        self,
        *,
        types: Sequence[str] | None = None,
        where: Mapping[str, Any] | None = None,
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
    ) -> list[Stored]:
        self.stats.cross_partition_queries += 1
        return self._select(None, types, where, order_by, descending, limit)

    def dump(self) -> list[Document]:
        """Every document (tests that look for leaked secrets)."""
        with self._lock:
            return [json.loads(body) for (body,) in self._db.execute("SELECT body FROM documents")]

    def close(self) -> None:
        with self._lock:
            self._db.close()
