"""The composition root: the only place that builds adapters and services.

Built lazily on first use, once per worker, so that importing ``function_app`` stays light
(cold start) and clients are reused across invocations. Configuration picks the adapters:
Cosmos DB when ``COSMOS_ENDPOINT`` is set, Storage queues when any form of the host's
``AzureWebJobsStorage`` connection is set (a connection string, ``__queueServiceUri`` /
``__serviceUri`` or ``__accountName``), the embedded SQLite store and queue otherwise.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from shared.settings import Settings, get_settings

if TYPE_CHECKING:
    from shared.auth import TokenValidator
    from shared.domain.catalog import Catalog
    from shared.ports import DocumentStore, MessageQueue

T = TypeVar("T")


def azure_credential(client_id: str | None, *, managed_identity: bool = False) -> Any:
    """The token credential of an identity-based connection.

    A client id names a user-assigned managed identity (``ManagedIdentityCredential``), as does
    ``__credential=managedidentity`` without one (then the system-assigned identity); otherwise
    ``DefaultAzureCredential`` (a developer's sign-in locally, the managed identity in Azure).
    """
    if client_id or managed_identity:
        from azure.identity import ManagedIdentityCredential

        return ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


class Container:
    """Lazily built singletons of one worker. Tests build their own with other settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.RLock()
        self._built: dict[str, Any] = {}

    def _once(self, name: str, build: Callable[[], T]) -> T:
        try:
            return self._built[name]
        except KeyError:
            pass
        with self._lock:
            if name not in self._built:
                self._built[name] = build()
            return self._built[name]

    # --- adapters -------------------------------------------------------------------------

    @property
    def store(self) -> DocumentStore:
        def build() -> DocumentStore:
            from shared.telemetry import traced

            system = "cosmosdb" if self.settings.cosmos_endpoint else "sqlite"
            store: DocumentStore = traced(self._build_store(), "store", **{"db.system": system})
            return store

        return self._once("store", build)

    def _build_store(self) -> DocumentStore:
        s = self.settings
        if s.cosmos_endpoint:
            from shared.adapters.cosmos_store import CosmosDocumentStore

            credential = None if s.cosmos_key else azure_credential(s.cosmos_managed_identity_client_id)
            return CosmosDocumentStore(
                str(s.cosmos_endpoint),
                database=s.cosmos_database,
                container=s.cosmos_container,
                key=s.cosmos_key,
                credential=credential,
                connection_verify=s.cosmos_connection_verify,
                timeout=s.dependency_timeout_seconds,
            )
        from shared.adapters.sqlite_store import SqliteDocumentStore

        s.data_dir.mkdir(parents=True, exist_ok=True)
        return SqliteDocumentStore(s.data_dir / "store.sqlite3")

    @property
    def queue(self) -> MessageQueue:
        def build() -> MessageQueue:
            from shared.telemetry import traced

            s = self.settings
            system = "azure_queue" if s.has_storage_connection_string or s.queue_service_url else "sqlite"
            queue: MessageQueue = traced(self._build_queue(), "queue", **{"messaging.system": system})
            return queue

        return self._once("queue", build)

    def _build_queue(self) -> MessageQueue:
        s = self.settings
        if s.has_storage_connection_string:
            from shared.adapters.storage_queue import StorageMessageQueue

            return StorageMessageQueue(s.storage_connection, timeout=s.dependency_timeout_seconds)
        if s.queue_service_url:
            from shared.adapters.storage_queue import StorageMessageQueue

            credential = azure_credential(s.storage_client_id, managed_identity=bool(s.storage_credential))
            return StorageMessageQueue(account_url=s.queue_service_url, credential=credential, timeout=s.dependency_timeout_seconds)
        from shared.adapters.sqlite_queue import SqliteMessageQueue

        s.data_dir.mkdir(parents=True, exist_ok=True)
        return SqliteMessageQueue(s.data_dir / "queue.sqlite3")

    @property
    def tokens(self) -> TokenValidator:
        def build() -> TokenValidator:
            from shared.auth import TokenValidator

            s = self.settings
            return TokenValidator(
                jwks_url=str(s.auth_jwks_url),
                issuer_template=s.auth_issuer,
                issuer_v1_template=s.auth_issuer_v1,
                audience=s.auth_audience,
                client_id=s.auth_client_id,
                program_tenant_id=s.program_tenant_id,
                jwks_lifetime=s.auth_jwks_lifetime_seconds,
            )

        return self._once("tokens", build)

    @property
    def catalog(self) -> Catalog:
        def build() -> Catalog:
            from shared.domain.catalog import load_catalog

            return load_catalog(self.settings.catalog_dir)

        return self._once("catalog", build)

    def service(self, name: str, build: Callable[[Container], T]) -> T:
        """A service built once from this container (services declare their own builders)."""
        return self._once("service:" + name, lambda: build(self))

    def close(self) -> None:
        with self._lock:
            for value in self._built.values():
                close = getattr(value, "close", None)
                if callable(close):
                    close()
            self._built.clear()


_container: Container | None = None
_container_lock = threading.Lock()


def container() -> Container:
    global _container
    if _container is None:
        with _container_lock:
            if _container is None:
                _container = Container(get_settings())
    return _container


def reset(new: Container | None = None) -> None:
    """Replace the worker's container (tests and the local host's shutdown)."""
    global _container
    with _container_lock:
        if _container is not None and _container is not new:
            _container.close()
        _container = new
        get_settings.cache_clear()
