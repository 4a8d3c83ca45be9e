"""``Directory`` on Microsoft Graph v1.0 with plain httpx and JSON batching.

Creates and reads go out as ``$batch`` requests of at most 20 sub-requests, up to
``max_concurrency`` batches in flight. Each sub-request is retried on its own:

* 429 -> wait ``Retry-After`` (or the default backoff) and resend just that sub-request,
  for as long as the item's time budget for throttling lasts (``throttle_budget``; Graph's
  write quota refills over 150 s, so a long import is slowed down, not failed);
* 500/502/503/504, a timeout or a transport error -> exponential backoff with full
  jitter (base 0.5 s, cap 30 s) and resend;
* after ``max_retries`` such retries the item fails with the last reason.

Conflicts are recognised by Graph's error details (``ObjectConflict`` and its ``target``),
never by the English message. A ``userPrincipalName`` conflict is reconciled with a read,
retried with backoff while replication lags (the read can 404 just after a create): the
object is this create's own (``created``) only if it carries the create's marker (Exchange
custom attribute 15), otherwise ``exists``; without a marker, when an earlier attempt may
have been applied (5xx / timeout / transport error). A ``proxyAddresses`` conflict (the name
is another object's address, invisible to reads) is ``taken``. A whole ``$batch`` answered
429/5xx is retried with the same rules; 401/403 raise ``DirectoryError``, and
``Authorization_RequestDenied`` (on the request or on any item) raises
``DirectoryPermissionError`` naming the permission to consent. Passwords and tokens are
never logged.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from shared.ports import (
    DirectoryDomain,
    DirectoryError,
    DirectoryPermissionError,
    DirectoryResult,
    DirectoryUser,
    NewDirectoryUser,
)

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from shared.settings import Settings

log = logging.getLogger(__name__)

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
TOKEN_EXCHANGE_SCOPE = "api://AzureADTokenExchange/.default"  # noqa: S105 - a scope
MAX_BATCH_SIZE = 20
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 30.0
MARKER_ATTRIBUTE = "extensionAttribute15"  # of onPremisesExtensionAttributes (cloud-only users)
_SELECT_USER = "?$select=id,userPrincipalName,displayName,onPremisesExtensionAttributes"
THROTTLE_BUDGET_SECONDS = 900.0  # six windows of Graph's write quota
READ_AFTER_CONFLICT_ATTEMPTS = 6  # reads of a conflicting user while replication lags (~31 s)
DENIED_CODE = "Authorization_RequestDenied"
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_MAYBE_APPLIED_STATUSES = frozenset({500, 502, 503, 504})
# errors on our side of the wire: retrying cannot help
_NOT_TRANSIENT = (httpx.LocalProtocolError, httpx.UnsupportedProtocol)


def token_provider_from_settings(settings: Settings) -> Callable[[str], str]:
    """A ``tenant_id -> bearer token`` function for ``settings.graph_credential``.

    Credentials are built lazily, one per tenant, and cached (azure-identity caches the
    tokens themselves). ``static`` needs no azure-identity and serves the local stand-in.
    """
    kind = settings.graph_credential
    if kind == "static":
        static = settings.graph_static_token

        def static_token(tenant_id: str) -> str:
            return f"devhost:{tenant_id}" if static is None else static

        return static_token

    from azure.identity import (
        CertificateCredential,
        ClientAssertionCredential,
        ClientSecretCredential,
        ManagedIdentityCredential,
    )

    client_id = settings.graph_client_id
    if not client_id:
        raise ValueError(f"graph_client_id is required for graph_credential={kind!r}")
    lock = threading.Lock()
    credentials: dict[str, TokenCredential] = {}
    managed: list[ManagedIdentityCredential] = []

    def assertion() -> str:
        with lock:
            if not managed:
                managed.append(ManagedIdentityCredential(client_id=settings.graph_managed_identity_client_id))
            credential = managed[0]
        return str(credential.get_token(TOKEN_EXCHANGE_SCOPE).token)

    def build(tenant_id: str) -> TokenCredential:
        if kind == "client_secret":
            secret = settings.graph_client_secret
            if not secret:
                raise ValueError("graph_client_secret is required for graph_credential='client_secret'")
            return ClientSecretCredential(tenant_id, client_id, secret)
        if kind == "certificate":
            if settings.graph_certificate_path is None:
                raise ValueError("graph_certificate_path is required for graph_credential='certificate'")
            return CertificateCredential(tenant_id, client_id, certificate_path=str(settings.graph_certificate_path))
        if kind == "managed_identity":
            return ClientAssertionCredential(tenant_id, client_id, assertion)
        raise ValueError(f"unknown graph_credential {kind!r}")

    def provider(tenant_id: str) -> str:
        with lock:
            credential = credentials.get(tenant_id)
            if credential is None:
                credential = credentials[tenant_id] = build(tenant_id)
        return str(credential.get_token(GRAPH_SCOPE).token)

    return provider


@dataclass
class _Op:
    """One sub-request and what happened to it."""

    method: str
    url: str
    body: dict[str, Any] | None = None
    attempts: int = 0
    maybe_applied: bool = False  # an earlier attempt may have been carried out
    status: int | None = None  # final status (not retried any more)
    response: object = None  # the JSON body of the final answer
    error: str | None = None  # set when the retries were exhausted
    last_problem: str = ""
    retry_after: float | None = field(default=None, repr=False)
    throttled_for: float = 0.0  # seconds waited on 429 answers
    throttles: int = 0  # 429 answers so far
    permission: str = "User.ReadWrite.All"  # what Graph needs for this request


def _chunks(items: Sequence[_Op], size: int) -> Iterator[list[_Op]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _graph_message(body: object) -> str:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            code = error.get("code")
            message = error.get("message")
            if message and code:
                return f"{code}: {message}"
            if message or code:
                return str(message or code)
    return ""


def _error_code(body: object) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("code") or "") if isinstance(error, dict) else ""


def conflict_targets(body: object) -> set[str]:
    """The properties of an ``ObjectConflict`` answer (``userPrincipalName``, ``proxyAddresses``)."""
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    targets: set[str] = set()
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and detail.get("code") == "ObjectConflict" and detail.get("target"):
            targets.add(str(detail["target"]).lower())
    return targets


def _describe(status: int, body: object) -> str:
    message = _graph_message(body)
    return f"HTTP {status}" + (f" ({message})" if message else "")


def _retry_after(headers: object) -> float | None:
    """The delay a 429 answer asks for (called for each throttled answer, which it counts)."""
    from shared.telemetry import count

    count("competency.graph.throttled")
    if not headers:
        return None
    value: object = None
    if isinstance(headers, httpx.Headers):
        value = headers.get("retry-after")
    elif isinstance(headers, dict):
        for name, candidate in headers.items():
            if str(name).lower() == "retry-after":
                value = candidate
                break
    if not isinstance(value, str | int | float):  # None, or JSON that float() refuses anyway
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, seconds)


def _to_user(body: object) -> DirectoryUser | None:
    if not isinstance(body, dict) or not body.get("id"):
        return None
    attributes = body.get("onPremisesExtensionAttributes")
    marker = attributes.get(MARKER_ATTRIBUTE) if isinstance(attributes, dict) else None
    return DirectoryUser(
        user_id=str(body["id"]),
        user_principal_name=str(body.get("userPrincipalName") or ""),
        display_name=str(body.get("displayName") or ""),
        marker=str(marker) if marker else None,
    )


def _user_url(id_or_upn: str) -> str:
    return "/users/" + quote(id_or_upn, safe="@")


class GraphDirectory:
    """The ``Directory`` port on Microsoft Graph (one ``httpx.Client`` per instance)."""

    def __init__(
        self,
        base_url: str,
        token_provider: Callable[[str], str],
        *,
        max_concurrency: int = 4,
        timeout: float = 30.0,
        max_retries: int = 6,
        throttle_budget: float = THROTTLE_BUDGET_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        if max_retries < 0:
            raise ValueError("max_retries must not be negative")
        self._base_url = base_url.rstrip("/")
        self._token_provider = token_provider
        self._max_concurrency = max_concurrency
        self._max_retries = max_retries
        self._throttle_budget = throttle_budget
        self._sleep = sleep
        self._rng = random.Random()
        self._client = httpx.Client(
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=max(10, max_concurrency * 2)),
            headers={"Accept": "application/json"},
        )

    # --- Directory ----------------------------------------------------------------------

    def create_users(self, tenant_id: str, users: Sequence[NewDirectoryUser]) -> list[DirectoryResult]:
        ops = [_Op("POST", "/users", self._user_body(user)) for user in users]
        self._execute(tenant_id, ops)

        conflicts = [
            i for i, op in enumerate(ops) if op.error is None and op.status == 400 and "userprincipalname" in conflict_targets(op.response)
        ]
        read_by_index = self._read_conflicting(tenant_id, {i: users[i].user_principal_name for i in conflicts})

        results: list[DirectoryResult] = []
        for i, (user, op) in enumerate(zip(users, ops, strict=True)):
            results.append(self._create_result(user, op, read_by_index.get(i)))
        counts = {status: sum(1 for r in results if r.status == status) for status in ("created", "exists", "taken", "failed")}
        log.info(
            "graph create_users tenant=%s total=%d created=%d exists=%d taken=%d failed=%d",
            tenant_id,
            len(results),
            counts["created"],
            counts["exists"],
            counts["taken"],
            counts["failed"],
        )
        return results

    def _read_conflicting(self, tenant_id: str, upns: dict[int, str]) -> dict[int, _Op]:
        """Read the users whose name conflicted; a 404 (replication lag) is read again later."""
        reads: dict[int, _Op] = {}
        waiting = dict(upns)
        for attempt in range(READ_AFTER_CONFLICT_ATTEMPTS + 1):
            if not waiting:
                break
            if attempt:
                delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
                log.info("graph tenant=%s %d conflicting user(s) not readable yet; reading again in %.1fs", tenant_id, len(waiting), delay)
                self._sleep(delay)
            batch = {i: _Op("GET", _user_url(upn) + _SELECT_USER, permission="User.Read.All") for i, upn in waiting.items()}
            self._execute(tenant_id, list(batch.values()))
            reads.update(batch)
            waiting = {i: waiting[i] for i, op in batch.items() if op.error is None and op.status == 404}
        return reads

    def find_users(self, tenant_id: str, upns: Sequence[str]) -> dict[str, DirectoryUser]:
        unique = list(dict.fromkeys(upn.lower() for upn in upns))
        ops = [_Op("GET", _user_url(upn), permission="User.Read.All") for upn in unique]
        self._execute(tenant_id, ops)
        found: dict[str, DirectoryUser] = {}
        for upn, op in zip(unique, ops, strict=True):
            if op.error is not None:
                raise DirectoryError(f"could not read user {upn}: {op.error}")
            if op.status == 404:
                continue
            user = _to_user(op.response) if op.status == 200 else None
            if user is None:
                raise DirectoryError(f"could not read user {upn}: {_describe(op.status or 0, op.response)}")
            found[upn] = user
        return found

    def get_user(self, tenant_id: str, id_or_upn: str) -> DirectoryUser | None:
        status, body = self._single(tenant_id, "GET", _user_url(id_or_upn), permission="User.Read.All")
        if status == 404:
            return None
        user = _to_user(body) if status == 200 else None
        if user is None:
            raise DirectoryError(f"could not read user {id_or_upn}: {_describe(status, body)}")
        return user

    def delete_user(self, tenant_id: str, user_id: str) -> bool:
        status, body = self._single(tenant_id, "DELETE", _user_url(user_id))
        if status in (200, 204):
            return True
        if status == 404:
            return False
        raise DirectoryError(f"could not delete user {user_id}: {_describe(status, body)}")

    def list_domains(self, tenant_id: str) -> list[DirectoryDomain]:
        status, body = self._single(tenant_id, "GET", "/domains", permission="Domain.Read.All")
        if status != 200 or not isinstance(body, dict):
            raise DirectoryError(f"could not list domains: {_describe(status, body)}")
        return [
            DirectoryDomain(
                name=str(d["id"]),
                is_default=bool(d.get("isDefault")),
                is_verified=bool(d.get("isVerified")),
                authentication_type=str(d.get("authenticationType") or ""),
            )
            for d in body.get("value") or []
            if isinstance(d, dict) and d.get("id")
        ]

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> GraphDirectory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals ----------------------------------------------------------------------

    @staticmethod
    def _user_body(user: NewDirectoryUser) -> dict[str, Any]:
        body: dict[str, Any] = {
            "accountEnabled": True,
            "displayName": user.display_name,
            "mailNickname": user.mail_nickname,
            "userPrincipalName": user.user_principal_name,
            "passwordProfile": {
                "forceChangePasswordNextSignIn": True,
                "password": user.password,
            },
        }
        if user.given_name is not None:
            body["givenName"] = user.given_name
        if user.surname is not None:
            body["surname"] = user.surname
        if user.marker is not None:
            body["onPremisesExtensionAttributes"] = {MARKER_ATTRIBUTE: user.marker}
        return body

    @staticmethod
    def _create_result(user: NewDirectoryUser, op: _Op, read: _Op | None) -> DirectoryResult:
        if op.error is not None:
            return DirectoryResult(user.ref, "failed", error=op.error)
        if op.status == 201:
            created = _to_user(op.response)
            if created is None:
                return DirectoryResult(user.ref, "failed", error="Graph answered 201 without a user id")
            return DirectoryResult(user.ref, "created", user=created)
        if read is not None:
            existing = _to_user(read.response) if read.status == 200 else None
            if existing is None:
                reason = read.error or _describe(read.status or 0, read.response)
                return DirectoryResult(
                    user.ref,
                    "failed",
                    error=f"userPrincipalName is taken but the user could not be read: {reason}",
                )
            own = existing.marker == user.marker if user.marker is not None else op.maybe_applied
            return DirectoryResult(user.ref, "created" if own else "exists", user=existing)
        message = _graph_message(op.response) or f"HTTP {op.status}"
        if op.status == 400 and "proxyaddresses" in conflict_targets(op.response):
            return DirectoryResult(user.ref, "taken", error=message)
        return DirectoryResult(user.ref, "failed", error=message)

    def _headers(self, tenant_id: str) -> dict[str, str]:
        try:
            token = self._token_provider(tenant_id)
        except Exception as exc:
            raise DirectoryError(
                f"could not get a Microsoft Graph token for tenant {tenant_id}: {type(exc).__name__}: {str(exc)[:300]}"
            ) from exc
        token = token.strip() if isinstance(token, str) else ""
        if not token:
            raise DirectoryError(f"the token provider returned no token for tenant {tenant_id}")
        return {"Authorization": f"Bearer {token}"}

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform(0, min(cap, base * 2**attempt)); ``attempt`` starts at 1."""
        ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * (2 ** max(0, attempt - 1)))
        return self._rng.uniform(0.0, ceiling)

    def _refused(self, tenant_id: str, response: httpx.Response, permission: str) -> DirectoryError:
        body = self._json(response)
        if response.status_code == 403 and _error_code(body) == DENIED_CODE:
            return DirectoryPermissionError(tenant_id, permission)
        return DirectoryError(
            f"Microsoft Graph refused the request for tenant {tenant_id}: "
            f"{_describe(response.status_code, body)}; check the app's credentials, "
            "admin consent and permissions (User.ReadWrite.All)"
        )

    @staticmethod
    def _json(response: httpx.Response) -> object:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return None

    def _execute(self, tenant_id: str, ops: Sequence[_Op]) -> None:
        """Run ``ops`` as ``$batch`` requests (20 each, ``max_concurrency`` in flight)."""
        if not ops:
            return
        chunks = list(_chunks(ops, MAX_BATCH_SIZE))
        if len(chunks) == 1 or self._max_concurrency == 1:
            for chunk in chunks:
                self._run_chunk(tenant_id, chunk)
            return
        with ThreadPoolExecutor(
            max_workers=min(self._max_concurrency, len(chunks)),
            thread_name_prefix="graph-batch",
        ) as pool:
            futures = [pool.submit(self._run_chunk, tenant_id, chunk) for chunk in chunks]
            try:
                for future in futures:
                    future.result()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise

    def _run_chunk(self, tenant_id: str, chunk: list[_Op]) -> None:
        """One chunk (<= 20 ops) until every op has a final answer or gave up.

        Whole-batch failures (transport error, 429/5xx) have their own budget of
        ``max_retries`` consecutive failures; each sub-request has ``max_retries`` retries
        for its own 429/5xx answers.
        """
        pending = chunk
        batch_failures = 0
        while pending:
            requests: list[dict[str, Any]] = []
            for index, op in enumerate(pending):
                sub: dict[str, Any] = {"id": str(index), "method": op.method, "url": op.url}
                if op.body is not None:
                    sub["headers"] = {"Content-Type": "application/json"}
                    sub["body"] = op.body
                requests.append(sub)
            headers = self._headers(tenant_id)
            try:
                response = self._client.post(f"{self._base_url}/$batch", json={"requests": requests}, headers=headers)
            except _NOT_TRANSIENT as exc:
                raise DirectoryError(f"cannot send to Microsoft Graph: {type(exc).__name__}") from exc
            except httpx.TransportError as exc:
                batch_failures += 1
                problem = f"{type(exc).__name__} talking to Microsoft Graph"
                pending = self._batch_failed(tenant_id, pending, problem, None, True, batch_failures)
                continue

            status = response.status_code
            if status in (401, 403):
                raise self._refused(tenant_id, response, pending[0].permission)
            body = self._json(response)
            if status in _RETRY_STATUSES:
                after = _retry_after(response.headers) if status == 429 else None
                if status == 429:
                    pending = self._throttled(tenant_id, pending, f"$batch {_describe(status, body)}", after)
                    continue
                batch_failures += 1
                pending = self._batch_failed(
                    tenant_id,
                    pending,
                    f"$batch {_describe(status, body)}",
                    after,
                    status in _MAYBE_APPLIED_STATUSES,
                    batch_failures,
                )
                continue
            if status != 200 or not isinstance(body, dict):
                problem = f"$batch {_describe(status, body)}"
                for op in pending:
                    op.error = problem
                return
            batch_failures = 0
            retry: list[_Op] = []

            by_id: dict[str, dict[str, Any]] = {}
            for sub_response in body.get("responses") or []:
                if isinstance(sub_response, dict) and "id" in sub_response:
                    by_id[str(sub_response["id"])] = sub_response
            for index, op in enumerate(pending):
                sub_response = by_id.get(str(index))
                if sub_response is None:
                    op.maybe_applied = True
                    self._failed_attempt(op, "no response for the sub-request", None, retry)
                    continue
                try:
                    sub_status = int(sub_response.get("status") or 0)
                except (TypeError, ValueError):
                    sub_status = 0
                sub_body = sub_response.get("body")
                if sub_status == 403 and _error_code(sub_body) == DENIED_CODE:
                    raise DirectoryPermissionError(tenant_id, op.permission)
                if sub_status in _RETRY_STATUSES:
                    if sub_status in _MAYBE_APPLIED_STATUSES:
                        op.maybe_applied = True
                    after = _retry_after(sub_response.get("headers")) if sub_status == 429 else None
                    self._failed_attempt(op, _describe(sub_status, sub_body), after, retry, throttled=sub_status == 429)
                    continue
                op.status = sub_status
                op.response = sub_body
            pending = self._wait(retry, tenant_id)

    def _batch_failed(
        self,
        tenant_id: str,
        pending: list[_Op],
        problem: str,
        retry_after: float | None,
        maybe_applied: bool,
        failures: int,
    ) -> list[_Op]:
        for op in pending:
            op.maybe_applied = op.maybe_applied or maybe_applied
            op.last_problem = problem
        if failures > self._max_retries:
            for op in pending:
                op.error = f"gave up after {self._max_retries} retries: {problem}"
            return []
        delay = retry_after if retry_after is not None else self._backoff(failures)
        log.warning(
            "graph tenant=%s retrying a $batch of %d in %.2fs: %s",
            tenant_id,
            len(pending),
            delay,
            problem,
        )
        if delay > 0:
            self._sleep(delay)
        return pending

    def _throttled(self, tenant_id: str, pending: list[_Op], problem: str, retry_after: float | None) -> list[_Op]:
        """A whole ``$batch`` answered 429: wait as told while every op's budget lasts."""
        retry: list[_Op] = []
        for op in pending:
            self._failed_attempt(op, problem, retry_after, retry, throttled=True)
        return self._wait(retry, tenant_id)

    def _failed_attempt(self, op: _Op, problem: str, retry_after: float | None, retry: list[_Op], *, throttled: bool = False) -> None:
        op.last_problem = problem
        if throttled:
            # Throttling is Graph's quota refilling, not a fault: it is waited out within a
            # time budget instead of a number of attempts.
            op.throttles += 1
            delay = retry_after if retry_after is not None else self._backoff(op.throttles)
            if op.throttled_for + delay > self._throttle_budget:
                op.error = f"gave up after waiting {op.throttled_for:.0f} s for Microsoft Graph's throttling: {problem}"
                return
            op.throttled_for += delay
            op.retry_after = delay
            retry.append(op)
            return
        op.attempts += 1
        if op.attempts > self._max_retries:
            op.error = f"gave up after {self._max_retries} retries: {problem}"
            return
        op.retry_after = retry_after if retry_after is not None else self._backoff(op.attempts)
        retry.append(op)

    def _wait(self, retry: list[_Op], tenant_id: str) -> list[_Op]:
        if retry:
            delay = max(op.retry_after or 0.0 for op in retry)
            log.warning(
                "graph tenant=%s retrying %d sub-request(s) in %.2fs (last: %s)",
                tenant_id,
                len(retry),
                delay,
                retry[0].last_problem,
            )
            if delay > 0:
                self._sleep(delay)
        return retry

    def _single(self, tenant_id: str, method: str, url: str, *, permission: str = "User.ReadWrite.All") -> tuple[int, object]:
        """One plain request with the same retry rules; returns the final status and body."""
        attempts = 0
        throttled_for, throttles = 0.0, 0
        while True:
            try:
                response = self._client.request(method, f"{self._base_url}{url}", headers=self._headers(tenant_id))
            except _NOT_TRANSIENT as exc:
                raise DirectoryError(f"cannot send to Microsoft Graph: {type(exc).__name__}") from exc
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__} talking to Microsoft Graph"
                delay: float | None = None
            else:
                status = response.status_code
                if status in (401, 403):
                    raise self._refused(tenant_id, response, permission)
                body = self._json(response)
                if status not in _RETRY_STATUSES:
                    return status, body
                problem = _describe(status, body)
                delay = _retry_after(response.headers) if status == 429 else None
                if status == 429:
                    throttles += 1
                    wait = delay if delay is not None else self._backoff(throttles)
                    if throttled_for + wait > self._throttle_budget:
                        raise DirectoryError(f"{method} {url} gave up after waiting {throttled_for:.0f} s for throttling: {problem}")
                    throttled_for += wait
                    log.warning("graph tenant=%s %s throttled; retry in %.2fs", tenant_id, method, wait)
                    self._sleep(wait)
                    continue
            attempts += 1
            if attempts > self._max_retries:
                raise DirectoryError(f"{method} {url} gave up after {self._max_retries} retries: {problem}")
            wait = delay if delay is not None else self._backoff(attempts)
            log.warning("graph tenant=%s %s retry in %.2fs: %s", tenant_id, method, wait, problem)
            if wait > 0:
                self._sleep(wait)
