"""The ports the services talk to: a document store, a message queue, a directory, the MSA
sign-in and the alert sinks.

Adapters: ``shared.adapters.sqlite_store`` / ``cosmos_store``, ``sqlite_queue`` /
``storage_queue``, ``graph_directory``, ``msa_signin`` and ``alert_sinks``; ``shared.bootstrap``
chooses and builds them. Each store and queue adapter passes the same contract tests
(tests/integration). Adapters raise the errors declared here; the services turn them into the
caller's problems.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Document = dict[str, Any]


class StoreError(Exception):
    """Base of the typed errors every document store adapter raises."""


class NotFoundError(StoreError):
    """No document with that id in the partition."""


class ConflictError(StoreError):
    """A document with that id already exists in the partition."""


class PreconditionFailedError(StoreError):
    """The ETag condition did not hold: someone else changed the document."""


class StoreUnavailableError(StoreError):
    """A dependency did not answer in time or answered that it cannot serve now; retryable.

    ``dependency`` names it for the caller and the logs."""

    dependency = "data store"


class QueueUnavailableError(StoreUnavailableError):
    """The message queue (not the data store) is unavailable."""

    dependency = "message queue"


class StoreConfigurationError(RuntimeError):
    """The database or container is missing, not reachable with this identity, or
    mis-partitioned: the deployment must be fixed, not the request."""


MAX_ITEM_BYTES = 2 * 1024 * 1024  # Cosmos DB's item limit (learn.microsoft.com/azure/cosmos-db/concepts-limits)
MAX_BATCH_OPERATIONS = 100  # Cosmos DB's transactional batch limits (same page)
MAX_BATCH_BYTES = 2 * 1024 * 1024


class DocumentTooLargeError(StoreError):
    """The document is over the 2 MB item limit (Cosmos DB's RequestEntityTooLarge)."""


def field_parts(path: str) -> list[str]:
    """The names of a dotted field path (``delivery.state``), checked so that every adapter can
    put them in its query language: letters, digits and underscores only."""
    parts = path.split(".")
    if not all(part.replace("_", "").isalnum() for part in parts):
        raise ValueError(f"unsupported field path {path!r}")
    return parts


@dataclass(frozen=True)
class OneOf:
    """A ``where`` condition: the field equals one of ``values`` (a lookup of candidates)."""

    values: tuple[Any, ...]


@dataclass(frozen=True)
class Stored:
    """A document as read from the store, with the ETag to condition a later write on."""

    body: Document
    etag: str


DocumentsByType = Mapping[str, Sequence[Stored]]


def by_type(documents: Sequence[Stored]) -> dict[str, list[Stored]]:
    """A query's documents grouped by their ``type`` (each group in the query's order): one
    pass, then each reader takes its own types."""
    groups: dict[str, list[Stored]] = {}
    for stored in documents:
        groups.setdefault(stored.body.get("type") or "", []).append(stored)
    return groups


@dataclass(frozen=True)
class PatchOp:
    """One patch operation (Cosmos DB partial document update semantics)."""

    op: Literal["set", "add", "incr", "remove"]
    path: str  # "/field" or "/a/b"
    value: Any = None


@dataclass
class StoreStats:
    """Requests sent to the store (a query page counts as one), for benchmarks and tests."""

    point_reads: int = 0
    writes: int = 0  # documents written (a batch counts each of its documents)
    queries: int = 0
    cross_partition_queries: int = 0
    batches: int = 0  # transactional batches (one request each)
    batched: int = 0  # documents written by batches

    @property
    def total(self) -> int:
        return self.point_reads + self.writes + self.queries + self.cross_partition_queries

    @property
    def write_requests(self) -> int:
        """Write requests sent: a batch is one, whatever the number of its documents."""
        return self.writes - self.batched + self.batches

    def reset(self) -> None:
        self.point_reads = self.writes = self.queries = self.cross_partition_queries = self.batches = self.batched = 0


class DocumentStore(Protocol):
    """One container of JSON documents, partitioned by ``partition_key``.

    Every document has ``id`` (unique within its partition) and ``pk`` (set by the store
    from the partition key argument). Queries are structured (types, equality filters,
    ordering, limit) so that each adapter translates them to its own language.
    """

    stats: StoreStats

    def read(self, partition_key: str, doc_id: str) -> Stored | None: ...

    def create(self, partition_key: str, doc: Document) -> Stored:
        """Insert; ``ConflictError`` when the id exists in the partition."""
        ...

    def upsert(self, partition_key: str, doc: Document) -> Stored: ...

    def write_batch(self, partition_key: str, *, creates: Sequence[Document] = (), upserts: Sequence[Document] = ()) -> None:
        """Creates, then upserts, in one partition as one transaction: all or nothing.
        ``ConflictError`` (nothing written) when a created id exists. Cosmos DB bounds a
        transactional batch (100 operations, 2 MB): a larger one is sent as several, each
        all or nothing, the creates first."""
        ...

    def replace(self, partition_key: str, doc: Document, *, if_match: str | None = None) -> Stored:
        """Replace an existing document; ``NotFoundError`` / ``PreconditionFailedError``."""
        ...

    def delete(self, partition_key: str, doc_id: str, *, if_match: str | None = None) -> None:
        """Delete; ``NotFoundError`` when absent, ``PreconditionFailedError`` on ETag mismatch."""
        ...

    def patch(
        self,
        partition_key: str,
        doc_id: str,
        operations: Sequence[PatchOp],
        *,
        if_match: str | None = None,
    ) -> Stored: ...

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
        """Documents of one partition; ``where`` is equality on (dotted) field paths, or
        membership when the value is ``OneOf``."""
        ...

    def query_all(
        self,
        *,
        types: Sequence[str] | None = None,
        where: Mapping[str, Any] | None = None,
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
    ) -> list[Stored]:
        """The same across partitions (nightly fan-out, alert sweeps; never on a hot path)."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class QueueMessage:
    id: str
    pop_receipt: str
    body: Document
    dequeue_count: int
    queue: str
    inserted_at: float = 0.0
    extra: Mapping[str, Any] = field(default_factory=dict)


class MessageQueue(Protocol):
    """Storage-queue semantics: at-least-once, visibility timeout, dequeue count, poison queue.

    ``receive`` moves a message that has been dequeued more than ``max_dequeue_count``
    times to ``<queue>-poison`` instead of returning it (what the Functions host does).
    """

    def send(self, queue: str, body: Mapping[str, Any], *, delay_seconds: int = 0) -> None: ...

    def send_many(self, queue: str, bodies: Iterable[Mapping[str, Any]]) -> int: ...

    def receive(
        self,
        queue: str,
        *,
        max_messages: int = 16,
        visibility_timeout: int = 30,
        max_dequeue_count: int = 5,
    ) -> list[QueueMessage]: ...

    def delete(self, message: QueueMessage) -> None: ...

    def approximate_count(self, queue: str) -> int: ...

    def close(self) -> None: ...


class InvalidMessage(Exception):
    """A queue message that can never succeed (malformed): logged and dropped, never retried."""


def poison_queue_name(queue: str) -> str:
    return f"{queue}-poison"


def message_identity(message: QueueMessage) -> str:
    """How a log line names a message: queue, id, dequeue count and the ids its body carries."""
    keys = ("partnerId", "importId", "alertId", "on")
    body = message.body if isinstance(message.body, Mapping) else {}
    named = " ".join(f"{k}={body[k]}" for k in keys if isinstance(body.get(k), str | int))
    return f"queue={message.queue} id={message.id} dequeueCount={message.dequeue_count}" + (f" {named}" if named else "")


# --- directory (user provisioning) -----------------------------------------------------------


@dataclass(frozen=True)
class NewDirectoryUser:
    """A user to create; ``ref`` is the caller's key for the result (e.g. the CSV row)."""

    ref: str
    user_principal_name: str
    display_name: str
    mail_nickname: str
    password: str
    given_name: str | None = None
    surname: str | None = None
    # Set on the created object, so that a later "already exists" for this name is known
    # to be this create (a retry) rather than someone else's account.
    marker: str | None = None


@dataclass(frozen=True)
class DirectoryUser:
    user_id: str
    user_principal_name: str
    display_name: str
    marker: str | None = None


@dataclass(frozen=True)
class DirectoryResult:
    """Outcome of one create: ``created`` (also when the UPN was taken by the object this
    create made, known by its marker), ``exists`` (taken by another object), ``taken`` (the
    name is another object's address, so no user can have it: choose another name), or
    ``failed``."""

    ref: str
    status: Literal["created", "exists", "taken", "failed"]
    user: DirectoryUser | None = None
    error: str | None = None


@dataclass(frozen=True)
class DirectoryDomain:
    """A domain of the tenant (``GET /domains``)."""

    name: str
    is_default: bool
    is_verified: bool
    authentication_type: str  # "Managed" or "Federated"


class DirectoryError(Exception):
    """The directory could not be reached or refused the whole request (not one user)."""


class DirectoryPermissionError(DirectoryError):
    """The app lacks a permission in the partner's tenant (admin consent missing)."""

    def __init__(self, tenant_id: str, permission: str) -> None:
        super().__init__(
            f"Microsoft Graph denied the suite's application in tenant {tenant_id} "
            f"(Authorization_RequestDenied): the {permission} application permission is not "
            "granted; a Global Administrator of that tenant must grant admin consent to the app"
        )
        self.tenant_id = tenant_id
        self.permission = permission


class Directory(Protocol):
    """User accounts in a partner's Entra ID tenant (Microsoft Graph in production)."""

    def create_users(self, tenant_id: str, users: Sequence[NewDirectoryUser]) -> list[DirectoryResult]:
        """Create many users (batched); one result per user, in input order."""
        ...

    def find_users(self, tenant_id: str, upns: Sequence[str]) -> dict[str, DirectoryUser]:
        """The users among ``upns`` that exist, keyed by lower-case UPN (batched reads)."""
        ...

    def delete_user(self, tenant_id: str, user_id: str) -> bool:
        """Delete; False when it was already gone."""
        ...

    def list_domains(self, tenant_id: str) -> list[DirectoryDomain]:
        """The tenant's domains (``GET /domains``)."""
        ...

    def close(self) -> None: ...


# --- MSA sign-in (linking an employee's personal Microsoft account) -------------------------


@dataclass(frozen=True)
class Identity:
    """The personal Microsoft account that signed in."""

    oid: str
    email: str | None
    name: str | None


class SignInError(Exception):
    """The sign-in response cannot link anything (refused, foreign, invalid); the message is
    fit for the person signing in and names no secret and no provider text."""

    @classmethod
    def refused(cls, provider_error: str, reference: str) -> SignInError:
        """The one wording of a provider's refusal (its own text goes to the log only)."""
        if provider_error == "access_denied":
            return cls("The Microsoft account sign-in was cancelled or refused. Start linking again from the portal.")
        return cls(f"The Microsoft account sign-in failed (correlation id {reference}). Start linking again from the portal.")


class SignInUnavailableError(Exception):
    """The sign-in service could not be reached; retryable."""


class MsaSignIn(Protocol):
    """The authorization code flow with PKCE against the Microsoft account authority."""

    def start(self, login_hint: str | None = None) -> tuple[str, dict[str, Any]]:
        """The URL to send the browser to, and the flow to keep server-side until the callback."""
        ...

    def finish(self, flow: dict[str, Any], params: dict[str, str]) -> Identity:
        """Redeem the callback parameters: the account, or ``SignInError`` /
        ``SignInUnavailableError``."""
        ...


# --- alert sinks -----------------------------------------------------------------------------


class DeliveryError(Exception):
    """The sink did not take the event; the reason names no secret."""


class AlertSink(Protocol):
    """Where alerts go (CloudEvents 1.0 JSON); ``deliver`` raises ``DeliveryError`` on failure."""

    name: str

    def deliver(self, event: Mapping[str, Any]) -> None: ...
