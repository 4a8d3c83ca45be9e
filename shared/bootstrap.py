"""The composition root: the only place that builds adapters and services.

Services receive their collaborators (ports, other services, settings values) through their
constructors and never import this module; triggers ask it for a service
(``users_service()``, ``evaluation_service()`` ...). Everything is built lazily on first use,
once per worker, so that importing ``function_app`` stays light (cold start: a service's
module and its SDKs are imported when the first request needs them) and clients are reused
across invocations. Configuration picks the adapters:
Cosmos DB when ``COSMOS_ENDPOINT`` is set, Storage queues when any form of the host's
``AzureWebJobsStorage`` connection is set (a connection string, ``__queueServiceUri`` /
``__serviceUri`` or ``__accountName``), the embedded SQLite store and queue otherwise.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar, cast

from shared.settings import Settings, get_settings

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from shared.auth import TokenValidator
    from shared.domain.catalog import Catalog
    from shared.ports import AlertSink, Directory, DocumentStore, MessageQueue, MsaSignIn
    from shared.services.alerts import AlertService
    from shared.services.designations import DesignationService
    from shared.services.evaluation import EvaluationService
    from shared.services.feeds import FeedService
    from shared.services.membership import MembershipService
    from shared.services.msa_association import LinkService
    from shared.services.msa_sign_in_flow import MsaLinkService
    from shared.services.overrides_and_skills_report import ProgramService
    from shared.services.partners import PartnerService
    from shared.services.users import UserService

T = TypeVar("T")


def azure_credential(client_id: str | None, *, managed_identity: bool = False) -> TokenCredential:
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
    """Lazily built singletons of one worker. Tests build their own with other settings.

    ``clock`` is what every service takes for "now" (the wall clock unless given). The outside
    systems (``directory``, ``msa_sign_in``, ``alert_sinks``) are built from the settings on
    first use unless given: tests hand in fakes, so a service is tested through this root.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] | None = None,
        directory: Directory | None = None,
        msa_sign_in: MsaSignIn | None = None,
        alert_sinks: list[AlertSink] | None = None,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._lock = threading.RLock()
        given = {"directory": directory, "msa-signin": msa_sign_in, "alert-sinks": alert_sinks}
        self._built: dict[str, object] = {name: value for name, value in given.items() if value is not None}

    @property
    def clock(self) -> Callable[[], datetime]:
        if self._clock is None:
            from shared.documents import utc_now

            return utc_now
        return self._clock

    def _once(self, name: str, build: Callable[[], T]) -> T:
        # One name, one builder: what is kept under a name is of the type its builder returns.
        try:
            return cast(T, self._built[name])
        except KeyError:
            pass
        with self._lock:
            if name not in self._built:
                self._built[name] = build()
            return cast(T, self._built[name])

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

    @property
    def directory(self) -> Directory:
        """Microsoft Graph (the partners' Entra ID tenants)."""

        def build() -> Directory:
            from shared.adapters.graph_directory import GraphDirectory, token_provider_from_settings
            from shared.telemetry import traced

            s = self.settings
            graph = GraphDirectory(
                str(s.graph_base_url).rstrip("/"),
                token_provider_from_settings(s),
                max_concurrency=s.graph_max_concurrency,
                timeout=s.graph_timeout_seconds,
                max_retries=s.graph_max_retries,
                throttle_budget=s.graph_throttle_budget_seconds,
            )
            directory: Directory = traced(graph, "graph")
            return directory

        return self._once("directory", build)

    @property
    def msa_sign_in(self) -> MsaSignIn:
        """The personal Microsoft account sign-in (MSAL)."""

        def build() -> MsaSignIn:
            from shared.adapters.msa_signin import MsalSignIn
            from shared.telemetry import traced

            s = self.settings
            sign_in = MsalSignIn(
                s.msa_authority,
                s.msa_client_id or "",
                s.msa_client_secret or "",
                redirect_uri=s.msa_redirect_uri or "",
                expected_tenant_id=s.msa_tenant_id,
                verify=s.msa_ca_bundle or True,
            )
            traced_sign_in: MsaSignIn = traced(sign_in, "msal")
            return traced_sign_in

        return self._once("msa-signin", build)

    @property
    def alert_sinks(self) -> list[AlertSink]:
        """The configured sinks: the webhook and/or the queue a Logic App reads (maybe none)."""

        def build() -> list[AlertSink]:
            from shared.adapters.alert_sinks import QueueSink, WebhookSink

            s = self.settings
            sinks: list[AlertSink] = []
            if s.alerts_webhook_url:
                sinks.append(WebhookSink(str(s.alerts_webhook_url), timeout=s.alerts_timeout_seconds))
            if s.alerts_queue_name:
                sinks.append(QueueSink(self.queue, s.alerts_queue_name))
            return sinks

        return self._once("alert-sinks", build)

    def service(self, name: str, build: Callable[[Container], T]) -> T:
        """A service built once from this container."""
        return self._once("service:" + name, lambda: build(self))

    def close(self) -> None:
        with self._lock:
            for value in self._built.values():
                for item in value if isinstance(value, list) else [value]:
                    close = getattr(item, "close", None)
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


# --- services: what triggers ask for ---------------------------------------------------------
# Each builder imports its service module on first use; ``c`` defaults to the worker's container.


def partner_service(c: Container | None = None) -> PartnerService:
    def build(c: Container) -> PartnerService:
        from shared.services.partners import PartnerService

        return PartnerService(c.store, clock=c.clock)

    return (c or container()).service("partners", build)


def users_service(c: Container | None = None) -> UserService:
    def build(c: Container) -> UserService:
        from shared.services.users import UserService

        s = c.settings
        return UserService(
            c.store,
            c.queue,
            lambda: c.directory,  # built on the first call that needs Graph
            links=link_service(c),
            max_rows=s.import_max_rows,
            inline_rows=s.import_inline_rows,
            log_ttl_hours=s.import_log_ttl_hours,
            stall_seconds=s.import_stall_seconds,
            clock=c.clock,
        )

    return (c or container()).service("users", build)


def link_service(c: Container | None = None) -> LinkService:
    def build(c: Container) -> LinkService:
        from shared.services.msa_association import LinkService

        return LinkService(c.store, clock=c.clock)

    return (c or container()).service("links", build)


def msa_link_service(c: Container | None = None) -> MsaLinkService:
    def build(c: Container) -> MsaLinkService:
        from shared.services.msa_sign_in_flow import MsaLinkService

        return MsaLinkService(
            c.store, lambda: c.msa_sign_in, link_service(c), flow_ttl_seconds=c.settings.msa_flow_ttl_seconds, clock=c.clock
        )

    return (c or container()).service("msa-link", build)


def alert_service(c: Container | None = None) -> AlertService:
    def build(c: Container) -> AlertService:
        from shared.services.alerts import AlertService

        s = c.settings
        return AlertService(
            c.store,
            c.queue,
            lambda: c.alert_sinks,  # built on the first delivery
            max_attempts=s.alerts_max_attempts,
            backoff_seconds=s.alerts_backoff_seconds,
            backoff_max_seconds=s.alerts_backoff_max_seconds,
            max_age_seconds=s.alerts_max_age_seconds,
            clock=c.clock,
        )

    return (c or container()).service("alerts", build)


def designation_service(c: Container | None = None) -> DesignationService:
    def build(c: Container) -> DesignationService:
        from shared.domain.designations import load_designations
        from shared.services.designations import DesignationService

        return DesignationService(
            c.store,
            load_designations(c.settings.catalog_dir),
            alert_window_days=c.settings.alert_window_days,
            clock=c.clock,
            nightly_schedule=c.settings.evaluation_schedule,
        )

    return (c or container()).service("designations", build)


def evaluation_service(c: Container | None = None) -> EvaluationService:
    def build(c: Container) -> EvaluationService:
        from shared.services.evaluation import EvaluationService

        return EvaluationService(
            c.store,
            c.queue,
            c.catalog,
            alert_window_days=c.settings.alert_window_days,
            clock=c.clock,
            alerts=alert_service(c),
            designations=designation_service(c),
            nightly_schedule=c.settings.evaluation_schedule,
        )

    return (c or container()).service("evaluation", build)


def membership_service(c: Container | None = None) -> MembershipService:
    def build(c: Container) -> MembershipService:
        from shared.services.membership import MembershipService

        return MembershipService(
            c.store,
            window_days=c.settings.alert_window_days,
            evaluate=lambda partner_id: evaluation_service(c).evaluate_partner(partner_id),
            clock=c.clock,
            nightly_schedule=c.settings.evaluation_schedule,
        )

    return (c or container()).service("membership", build)


def feed_service(c: Container | None = None) -> FeedService:
    def build(c: Container) -> FeedService:
        from shared.services.feeds import FeedService

        return FeedService(c.store, c.catalog, clock=c.clock)

    return (c or container()).service("feeds", build)


def program_service(c: Container | None = None) -> ProgramService:
    def build(c: Container) -> ProgramService:
        from shared.services.overrides_and_skills_report import ProgramService

        return ProgramService(c.store, lambda: c.service("catalog-api", lambda c: c.catalog.to_api()), clock=c.clock)

    return (c or container()).service("program", build)
