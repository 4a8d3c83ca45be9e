"""Azure Cosmos DB for NoSQL through ``azure-cosmos``: one container, partition key ``/pk``.

Queries use only what the Cosmos protocol server of the contract tests also implements
(parameterised WHERE, ORDER BY, TOP, ARRAY_CONTAINS); a query page counts as one request.

With key auth (local, tests) the database and container are created when missing. Under
Entra ID RBAC (a managed identity, as in Azure) the data plane cannot create them (403): the
infrastructure owns them, and the store only checks that they exist with partition key
``/pk``, refusing to start otherwise with a message naming what to pre-create.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar

from shared.ports import (
    MAX_BATCH_BYTES,
    MAX_BATCH_OPERATIONS,
    MAX_ITEM_BYTES,
    ConflictError,
    Document,
    DocumentTooLargeError,
    NotFoundError,
    OneOf,
    PatchOp,
    PreconditionFailedError,
    StoreConfigurationError,
    Stored,
    StoreStats,
    StoreUnavailableError,
    field_parts,
)

if TYPE_CHECKING:
    from azure.core import MatchConditions
    from azure.core.credentials import TokenCredential
    from azure.cosmos import PartitionKey

log = logging.getLogger("competency.store")

P = ParamSpec("P")
T = TypeVar("T")

# One operation of a transactional batch: ("create" | "upsert", (document,)).
BatchOperation = tuple[str, tuple[dict[str, Any]]]


class QueryPager(Protocol):
    """What the store reads of a query's ``ItemPaged``: its pages, one request each."""

    def by_page(self) -> Iterator[Iterable[Mapping[str, Any]]]: ...


class CosmosContainer(Protocol):
    """What the store uses of ``azure.cosmos.ContainerProxy``."""

    def read(self) -> Mapping[str, Any]: ...

    def read_item(self, item: str, /, partition_key: str) -> Mapping[str, Any]: ...

    def create_item(self, body: dict[str, Any], /) -> Mapping[str, Any]: ...

    def upsert_item(self, body: dict[str, Any], /) -> Mapping[str, Any]: ...

    def replace_item(
        self, item: str, body: dict[str, Any], /, *, etag: str | None = None, match_condition: MatchConditions | None = None
    ) -> Mapping[str, Any]: ...

    def delete_item(
        self, item: str, /, partition_key: str, *, etag: str | None = None, match_condition: MatchConditions | None = None
    ) -> None: ...

    def patch_item(
        self,
        item: str,
        /,
        partition_key: str,
        patch_operations: list[dict[str, Any]],
        *,
        etag: str | None = None,
        match_condition: MatchConditions | None = None,
    ) -> Mapping[str, Any]: ...

    def execute_item_batch(self, batch_operations: Sequence[BatchOperation], /, partition_key: str) -> object: ...

    def query_items(
        self,
        query: str,
        /,
        *,
        parameters: list[dict[str, object]] | None = None,
        partition_key: str | None = None,
        enable_cross_partition_query: bool | None = None,
        max_item_count: int | None = None,
    ) -> QueryPager: ...


class CosmosDatabase(Protocol):
    """What the store uses of ``azure.cosmos.DatabaseProxy``."""

    def create_container_if_not_exists(
        self, id: str, /, *, partition_key: PartitionKey, default_ttl: int | None = None
    ) -> CosmosContainer: ...

    def get_container_client(self, container: str, /) -> CosmosContainer: ...


class CosmosAccount(Protocol):
    """What the store uses of ``azure.cosmos.CosmosClient`` (tests hand in a fake one)."""

    def create_database_if_not_exists(self, id: str, /) -> CosmosDatabase: ...

    def get_database_client(self, database: str, /) -> CosmosDatabase: ...


_SYSTEM_FIELDS = ("_rid", "_self", "_etag", "_attachments", "_ts", "_lsn")
PARTITION_KEY_PATH = "/pk"


def open_container(client: CosmosAccount, database: str, container: str, *, create: bool) -> CosmosContainer:
    """The container proxy, created first when ``create`` (key auth), checked in every case."""
    from azure.cosmos import PartitionKey, exceptions

    what = f"database '{database}' with container '{container}' (partition key {PARTITION_KEY_PATH})"
    try:
        if create:
            db = client.create_database_if_not_exists(database)
            # Time-to-live on, no default expiry: documents that carry ``ttl`` expire by themselves.
            proxy = db.create_container_if_not_exists(container, partition_key=PartitionKey(path=PARTITION_KEY_PATH), default_ttl=-1)
        else:
            proxy = client.get_database_client(database).get_container_client(container)
        properties = proxy.read()
    except exceptions.CosmosHttpResponseError as exc:
        if exc.status_code == 403:
            raise StoreConfigurationError(
                f"Cosmos DB refused access (403) to the {what}: with Entra ID auth the data plane cannot create it; "
                f"pre-create the {what} and grant the app's identity the Cosmos DB Built-in Data Contributor role"
            ) from None
        if exc.status_code == 404:
            raise StoreConfigurationError(f"Cosmos DB has no {what}: pre-create it (COSMOS_DATABASE, COSMOS_CONTAINER)") from None
        raise
    paths = list((properties or {}).get("partitionKey", {}).get("paths") or [])
    if paths != [PARTITION_KEY_PATH]:
        raise StoreConfigurationError(
            f"Cosmos DB container '{container}' of database '{database}' is partitioned by {paths or 'nothing'}; "
            f"the suite needs partition key {PARTITION_KEY_PATH} (a container's partition key cannot change: create a new one)"
        )
    return proxy


def _body(item: Mapping[str, Any]) -> Stored:
    body = {k: v for k, v in item.items() if k not in _SYSTEM_FIELDS}
    return Stored(body, str(item.get("_etag", "")))


def _chunks(operations: list[BatchOperation]) -> list[list[BatchOperation]]:
    """Cosmos DB's transactional batch limits: at most 100 operations and 2 MB a batch (the
    size estimated from the documents' JSON, with room for the batch's own framing). A
    document over the item limit is refused before anything is sent, as one batch would be."""
    chunks: list[list[BatchOperation]] = [[]]
    size = 0
    for operation in operations:
        weight = len(json.dumps(operation[1][0]).encode("utf-8")) + 256
        if weight - 256 > MAX_ITEM_BYTES:
            raise DocumentTooLargeError(f"{operation[1][0].get('id')} is over Cosmos DB's 2 MB item limit")
        if chunks[-1] and (len(chunks[-1]) >= MAX_BATCH_OPERATIONS or size + weight > MAX_BATCH_BYTES * 3 // 4):
            chunks.append([])
            size = 0
        chunks[-1].append(operation)
        size += weight
    return [c for c in chunks if c]


def _field(path: str) -> str:
    return "c." + ".".join(field_parts(path))


class CosmosDocumentStore:
    def __init__(
        self,
        endpoint: str,
        *,
        database: str,
        container: str,
        key: str | None = None,
        credential: TokenCredential | None = None,
        connection_verify: bool = True,
        timeout: float = 5.0,
        client: CosmosAccount | None = None,
    ) -> None:
        if client is None:
            from azure.cosmos import CosmosClient

            # Fail fast: one call (its retries included) must fit in an HTTP request. The SDK's
            # defaults wait out an outage (65 s reads, retried; 9 throttling retries up to 30 s),
            # and its absolute ``timeout`` does not bound the retries: two attempts of half each.
            half = max(1, round(timeout / 2))
            auth = key or credential
            if auth is None:  # refused here as the SDK would refuse it (TypeError)
                raise TypeError("Cosmos DB needs a key or a token credential")
            client = CosmosClient(
                endpoint,
                credential=auth,
                connection_verify=connection_verify,
                connection_timeout=half,
                read_timeout=half,
                retry_total=1,
                retry_read=1,
                retry_connect=1,
                retry_backoff_max=half,
            )
        self._client = client
        self._container = self._call(open_container, client, database, container, create=bool(key))
        self.stats = StoreStats()

    # --- error mapping ------------------------------------------------------------------------

    def _call(self, action: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Every SDK error becomes one of the port's errors (nothing escapes as a 500)."""
        from azure.core.exceptions import AzureError
        from azure.cosmos import exceptions

        try:
            return action(*args, **kwargs)
        except exceptions.CosmosResourceNotFoundError as exc:
            raise NotFoundError(str(exc.message)) from None
        except exceptions.CosmosResourceExistsError as exc:
            raise ConflictError(str(exc.message)) from None
        except exceptions.CosmosAccessConditionFailedError as exc:
            raise PreconditionFailedError(str(exc.message)) from None
        except exceptions.CosmosHttpResponseError as exc:
            if exc.status_code == 413:
                raise DocumentTooLargeError("Cosmos DB refused a document over its 2 MB item limit (413 RequestEntityTooLarge)") from None
            # 408/429/449/5xx are transient; 401/403 (keys, RBAC) and anything else mean the
            # store cannot serve this request now: the caller sees 503, the log says why.
            raise StoreUnavailableError(f"Cosmos DB answered {exc.status_code}") from None
        except AzureError as exc:  # timeouts, connection errors, the client's own timeout
            raise StoreUnavailableError(f"Cosmos DB did not answer: {type(exc).__name__}") from None

    @staticmethod
    def _condition(if_match: str | None) -> dict[str, Any]:
        if if_match is None:
            return {}
        from azure.core import MatchConditions

        return {"etag": if_match, "match_condition": MatchConditions.IfNotModified}

    # --- the port -----------------------------------------------------------------------------

    def read(self, partition_key: str, doc_id: str) -> Stored | None:
        self.stats.point_reads += 1
        try:
            return _body(self._call(self._container.read_item, doc_id, partition_key=partition_key))
        except NotFoundError:
            return None

    def create(self, partition_key: str, doc: Document) -> Stored:
        self.stats.writes += 1
        return _body(self._call(self._container.create_item, {**doc, "pk": partition_key}))

    def upsert(self, partition_key: str, doc: Document) -> Stored:
        self.stats.writes += 1
        return _body(self._call(self._container.upsert_item, {**doc, "pk": partition_key}))

    def write_batch(self, partition_key: str, *, creates: Sequence[Document] = (), upserts: Sequence[Document] = ()) -> None:
        operations = [("create", ({**d, "pk": partition_key},)) for d in creates]
        operations += [("upsert", ({**d, "pk": partition_key},)) for d in upserts]
        for chunk in _chunks(operations):
            self.stats.batches += 1
            self._call(self._batch, chunk, partition_key)
            self.stats.writes += len(chunk)
            self.stats.batched += len(chunk)

    def _batch(self, operations: list[BatchOperation], partition_key: str) -> None:
        from azure.cosmos import exceptions

        try:
            self._container.execute_item_batch(operations, partition_key=partition_key)
        except exceptions.CosmosBatchOperationError as exc:
            # The batch failed as a whole; the operation that failed it says why.
            responses = exc.operation_responses or []
            index = exc.error_index if exc.error_index is not None else -1
            status = int(responses[index].get("statusCode", exc.status_code or 0)) if 0 <= index < len(responses) else exc.status_code
            if status == 409:
                raise ConflictError(f"a document created by the batch exists in {partition_key}") from None
            if status == 413:
                raise DocumentTooLargeError("Cosmos DB refused a document over its 2 MB item limit (413 RequestEntityTooLarge)") from None
            raise StoreUnavailableError(f"Cosmos DB answered {status} to a batch") from None

    def replace(self, partition_key: str, doc: Document, *, if_match: str | None = None) -> Stored:
        self.stats.writes += 1
        body = {**doc, "pk": partition_key}
        return _body(self._call(self._container.replace_item, body["id"], body, **self._condition(if_match)))

    def delete(self, partition_key: str, doc_id: str, *, if_match: str | None = None) -> None:
        self.stats.writes += 1
        self._call(self._container.delete_item, doc_id, partition_key=partition_key, **self._condition(if_match))

    def patch(self, partition_key: str, doc_id: str, operations: Sequence[PatchOp], *, if_match: str | None = None) -> Stored:
        self.stats.writes += 1
        ops = [
            {"op": op.op, "path": op.path} if op.op == "remove" else {"op": op.op, "path": op.path, "value": op.value} for op in operations
        ]
        item = self._call(
            self._container.patch_item, doc_id, partition_key=partition_key, patch_operations=ops, **self._condition(if_match)
        )
        return _body(item)

    def _sql(
        self,
        partition_key: str | None,
        types: Sequence[str] | None,
        where: Mapping[str, Any] | None,
        order_by: str | None,
        descending: bool,
        limit: int | None,
    ) -> tuple[str, list[dict[str, Any]]]:
        clauses: list[str] = []
        parameters: list[dict[str, Any]] = []
        if partition_key is not None:
            # Redundant with the partition key option in Cosmos DB; keeps the protocol server
            # of the contract tests (which ignores that option for queries) exact.
            clauses.append("c.pk = @pk")
            parameters.append({"name": "@pk", "value": partition_key})
        if types:
            clauses.append("ARRAY_CONTAINS(@types, c.type)")
            parameters.append({"name": "@types", "value": list(types)})
        for index, (field, value) in enumerate((where or {}).items()):
            if value is None:
                clauses.append(f"(NOT IS_DEFINED({_field(field)}) OR IS_NULL({_field(field)}))")
            elif isinstance(value, OneOf):
                clauses.append(f"ARRAY_CONTAINS(@p{index}, {_field(field)})")
                parameters.append({"name": f"@p{index}", "value": list(value.values)})
            else:
                clauses.append(f"{_field(field)} = @p{index}")
                parameters.append({"name": f"@p{index}", "value": value})
        top = f"TOP {int(limit)} " if limit is not None else ""
        sql = f"SELECT {top}* FROM c"  # noqa: S608  (field paths are checked; values are parameters)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        if order_by:
            sql += f" ORDER BY {_field(order_by)} {'DESC' if descending else 'ASC'}"
        return sql, parameters

    def _pages(self, pager: QueryPager, *, cross_partition: bool) -> list[Stored]:
        results: list[Stored] = []
        pages = self._call(pager.by_page)
        while True:
            # Each page is a request: fetching it (next) is where a timeout or a 429 surfaces.
            page = self._call(next, pages, None)
            if page is None:
                return results
            if cross_partition:
                self.stats.cross_partition_queries += 1
            else:
                self.stats.queries += 1
            results.extend(_body(item) for item in self._call(list, page))

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
        sql, parameters = self._sql(partition_key, types, where, order_by, descending, limit)
        pager = self._call(self._container.query_items, sql, parameters=parameters, partition_key=partition_key, max_item_count=1000)
        return self._pages(pager, cross_partition=False)

    def query_all(
        self,
        *,
        types: Sequence[str] | None = None,
        where: Mapping[str, Any] | None = None,
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
    ) -> list[Stored]:
        sql, parameters = self._sql(None, types, where, order_by, descending, limit)
        pager = self._call(self._container.query_items, sql, parameters=parameters, enable_cross_partition_query=True, max_item_count=1000)
        return self._pages(pager, cross_partition=True)

    def dump(self) -> list[Document]:
        return [doc.body for doc in self.query_all()]

    def close(self) -> None:
        close = getattr(self._client, "close", None)
        if callable(close):
            close()
