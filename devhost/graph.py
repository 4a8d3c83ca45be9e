"""An in-memory stand-in for the parts of Microsoft Graph v1.0 the provisioning code uses.

Mounted under ``/_dev/graph``; the API lives below ``/_dev/graph/v1.0``:

* ``POST /v1.0/users``, ``GET /v1.0/users``, ``GET /v1.0/users/{id|upn}``,
  ``DELETE /v1.0/users/{id|upn}``, ``GET /v1.0/domains`` and ``POST /v1.0/$batch``
  (JSON batching, at most 20 sub-requests).

State is kept per tenant; the tenant comes from the bearer token: ``devhost:<tenantId>``
selects that tenant, any other non-empty token selects ``default``. Faults can be injected
(attributes, ``configure_faults`` or ``POST /_dev/graph/faults``)::

    {"throttleRate": 0.0-1.0,      # answer 429 + Retry-After
     "unavailableRate": 0.0-1.0,   # answer 503
     "applyThenFailRate": 0.0-1.0, # a create is stored but answered 503 (alias applyThenFail)
     "latencyMs": int,             # sleep once per top-level HTTP request
     "retryAfterSeconds": int,
     "replicationLagSeconds": float,  # new users are invisible to reads this long
     "seed": int | null}

Throttle/unavailable faults are drawn for each top-level request and, independently,
for each sub-request of a batch. ``GET /_dev/graph/stats`` and ``POST /_dev/graph/reset``
are helpers for tests and the local host. ``faults``, ``stats`` and ``reset`` answer only a
caller on this machine (``standin.local_only``); ``POST /faults`` takes ``application/json``.

What the real service enforces, the stand-in enforces too (each by default as Graph does;
``clock`` is injectable so that tests can run minutes of Graph time in milliseconds):

* **Permissions** (``grant``): a tenant's admin consent gives the app ``User.ReadWrite.All``
  and ``Domain.Read.All``; without them a request (or each ``$batch`` item) is answered
  403 ``Authorization_RequestDenied``.
* **Domains** (``add_domain``): verified managed domains, or federated ones, where creating a
  user with a password is refused (an on-premises immutable id is required).
* **Conflicts**: a taken ``userPrincipalName``, or an address already used as another
  object's proxy address (``seed_proxy_address``; invisible to ``GET /users/{upn}``), is
  answered 400 with ``details: [{code: ObjectConflict, target: ...}]``.
* **Write throttling**: a token bucket per app and tenant (3,000 writes per 150 s) and per
  tenant (18,000 per 300 s), answered 429 with ``Retry-After`` (``configure_throttling``).
* **Replication lag** (``replicationLagSeconds``, 0 by default): a new user is invisible to
  reads for that long, while creates already conflict with it.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import unquote, urlsplit

from devhost.standin import Request, Response, local_only

API_VERSION = "/v1.0"
MAX_BATCH_REQUESTS = 20
UPN_CONFLICT_MESSAGE = "Another object with the same value for property userPrincipalName already exists."
PROXY_CONFLICT_MESSAGE = "Another object with the same value for property proxyAddresses already exists."
FEDERATED_DOMAIN_MESSAGE = "SourceAnchor is a required property for creation of a federated user."
DENIED_MESSAGE = "Insufficient privileges to complete the operation."
_REQUIRED_USER_FIELDS = ("accountEnabled", "displayName", "mailNickname", "userPrincipalName")

# What admin consent grants the suite's app registration (application permissions).
CONSENTED_PERMISSIONS = frozenset({"User.ReadWrite.All", "Domain.Read.All"})
_READ_USERS = frozenset({"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"})
_WRITE_USERS = frozenset({"User.ReadWrite.All", "Directory.ReadWrite.All"})
_READ_DOMAINS = frozenset({"Domain.Read.All", "Domain.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"})

# Identity and access service write quotas (learn.microsoft.com/graph/throttling-limits).
APP_TENANT_WRITES, APP_TENANT_WINDOW_SECONDS = 3000, 150.0
TENANT_WRITES, TENANT_WINDOW_SECONDS = 18000, 300.0


@dataclass
class _Result:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def _error(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    details: list[dict[str, str]] | None = None,
) -> _Result:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    error["innerError"] = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
        "request-id": str(uuid.uuid4()),
        "client-request-id": str(uuid.uuid4()),
    }
    return _Result(status, {"error": error}, dict(headers or {}))


def _conflict(target: str, message: str) -> _Result:
    """Graph's answer to a uniqueness violation: 400 with an ObjectConflict detail."""
    return _error(400, "Request_BadRequest", message, details=[{"code": "ObjectConflict", "message": message, "target": target}])


def _denied() -> _Result:
    return _error(403, "Authorization_RequestDenied", DENIED_MESSAGE)


@dataclass
class _Bucket:
    """A token bucket: ``capacity`` writes, refilled evenly over ``window`` seconds."""

    capacity: float
    window: float
    tokens: float
    at: float

    def wait_for(self, now: float, cost: float = 1.0) -> float:
        """Seconds until ``cost`` tokens are available (0: available now)."""
        rate = self.capacity / self.window
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * rate)
        self.at = now
        return 0.0 if self.tokens >= cost else (cost - self.tokens) / rate


def password_is_complex(password: str) -> bool:
    """Entra's default rule: 8-256 characters and at least 3 of lower/upper/digit/symbol."""
    if not 8 <= len(password) <= 256:
        return False
    classes = (
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    )
    return sum(classes) >= 3


def default_domain_for(tenant: str) -> str:
    prefix = tenant.replace("-", "")[:8].lower() or "default"
    return f"{prefix}.onmicrosoft.com"


class GraphStandIn:
    prefix = "/_dev/graph"

    def __init__(
        self,
        *,
        throttle_rate: float = 0.0,
        unavailable_rate: float = 0.0,
        apply_then_fail_rate: float = 0.0,
        latency_ms: int = 0,
        retry_after_seconds: int = 1,
        seed: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        journal: Path | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._users: dict[str, dict[str, dict[str, Any]]] = {}  # tenant -> id -> user
        self._upn_index: dict[tuple[str, str], str] = {}  # (tenant, lower-case UPN) -> id
        self._password_profiles: dict[tuple[str, str], dict[str, Any]] = {}
        self._domains: dict[str, list[str]] = {}  # tenant -> extra domains
        self._federated: dict[str, set[str]] = {}  # tenant -> federated domains (lower case)
        self._granted: dict[str, frozenset[str]] = {}  # tenant -> permissions (default: consented)
        self._proxy_addresses: dict[str, set[str]] = {}  # tenant -> seeded addresses (lower case)
        self._created_at: dict[tuple[str, str], float] = {}  # (tenant, user id) -> clock()
        self._buckets: dict[str, _Bucket] = {}
        self.clock = clock
        self.replication_lag_seconds = 0.0
        self.write_limits = ((APP_TENANT_WRITES, APP_TENANT_WINDOW_SECONDS), (TENANT_WRITES, TENANT_WINDOW_SECONDS))
        self.throttled_count = 0
        self.throttle_rate = throttle_rate
        self.unavailable_rate = unavailable_rate
        self.apply_then_fail_rate = apply_then_fail_rate
        self.latency_ms = latency_ms
        self.retry_after_seconds = retry_after_seconds
        self._rng = random.Random(seed)
        self.request_count = 0
        self.batch_count = 0
        self.sub_request_count = 0
        # A directory outlives the host: users created and deleted are journalled (one JSON
        # line each) and replayed at start, so a killed and restarted host meets the accounts
        # it created before, as a retry meets them in Graph.
        self._journal: TextIO | None = None
        if journal is not None:
            self._replay(journal)
            self._journal = journal.open("a", encoding="utf-8")

    def _replay(self, journal: Path) -> None:
        if not journal.exists():
            return
        text = journal.read_text(encoding="utf-8")
        if text and not text.endswith("\n"):
            with journal.open("a", encoding="utf-8") as end:
                end.write("\n")  # close a line a kill cut short, so the next one stands alone
        for line in text.splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill
            tenant, user = entry["tenant"], entry["user"]
            if entry["op"] == "create":
                self._users.setdefault(tenant, {})[user["id"]] = user
                self._upn_index[(tenant, str(user["userPrincipalName"]).lower())] = user["id"]
                self._password_profiles[(tenant, user["id"])] = entry.get("passwordProfile") or {}
            elif entry["op"] == "delete":
                self._users.get(tenant, {}).pop(user["id"], None)
                self._upn_index.pop((tenant, str(user["userPrincipalName"]).lower()), None)

    def _journal_locked(self, op: str, tenant: str, user: dict[str, Any], **extra: Any) -> None:
        if self._journal is not None:
            self._journal.write(json.dumps({"op": op, "tenant": tenant, "user": user, **extra}) + "\n")
            self._journal.flush()  # written before the answer: a kill after it loses nothing

    # --- helpers for tests and the local host -------------------------------------------

    def configure_faults(
        self,
        *,
        throttle_rate: float | None = None,
        unavailable_rate: float | None = None,
        apply_then_fail_rate: float | None = None,
        latency_ms: int | None = None,
        retry_after_seconds: int | None = None,
        seed: int | None = None,
        replication_lag_seconds: float | None = None,
    ) -> None:
        """Change fault injection; ``None`` leaves a setting alone (``seed`` re-seeds)."""
        for name, rate in (
            ("throttle_rate", throttle_rate),
            ("unavailable_rate", unavailable_rate),
            ("apply_then_fail_rate", apply_then_fail_rate),
        ):
            if rate is not None and not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if latency_ms is not None and latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        if retry_after_seconds is not None and retry_after_seconds < 0:
            raise ValueError("retry_after_seconds must not be negative")
        if replication_lag_seconds is not None and replication_lag_seconds < 0:
            raise ValueError("replication_lag_seconds must not be negative")
        with self._lock:
            if throttle_rate is not None:
                self.throttle_rate = throttle_rate
            if unavailable_rate is not None:
                self.unavailable_rate = unavailable_rate
            if apply_then_fail_rate is not None:
                self.apply_then_fail_rate = apply_then_fail_rate
            if latency_ms is not None:
                self.latency_ms = latency_ms
            if retry_after_seconds is not None:
                self.retry_after_seconds = retry_after_seconds
            if replication_lag_seconds is not None:
                self.replication_lag_seconds = replication_lag_seconds
            self._rng = random.Random(seed)

    def add_domain(self, tenant: str, domain: str, *, federated: bool = False) -> None:
        """A verified domain of ``tenant``: managed, or federated with another identity provider."""
        with self._lock:
            domains = self._domains.setdefault(tenant, [])
            if domain.lower() not in (d.lower() for d in self._domains_locked(tenant)):
                domains.append(domain)
            federation = self._federated.setdefault(tenant, set())
            if federated:
                federation.add(domain.lower())
            else:
                federation.discard(domain.lower())

    def grant(self, tenant: str, permissions: Iterable[str] | None) -> None:
        """The application permissions consented in ``tenant`` (``None``: the default consent)."""
        with self._lock:
            if permissions is None:
                self._granted.pop(tenant, None)
            else:
                self._granted[tenant] = frozenset(permissions)

    def seed_proxy_address(self, tenant: str, address: str) -> None:
        """An address another object uses (an alias or an old address), not a user name."""
        with self._lock:
            self._proxy_addresses.setdefault(tenant, set()).add(address.strip().lower().removeprefix("smtp:"))

    def configure_throttling(self, writes: int, window_seconds: float, *, tenant_writes: int | None = None) -> None:
        """The write bucket per app and tenant (and, optionally, per tenant); buckets restart full."""
        if writes < 1 or window_seconds <= 0:
            raise ValueError("writes and window_seconds must be positive")
        with self._lock:
            tenant_limit = (tenant_writes, TENANT_WINDOW_SECONDS) if tenant_writes else self.write_limits[1]
            self.write_limits = ((writes, window_seconds), tenant_limit)
            self._buckets.clear()

    def domains(self, tenant: str) -> list[str]:
        with self._lock:
            return self._domains_locked(tenant)

    def password_profile(self, tenant: str, user_id: str) -> dict[str, Any]:
        """The passwordProfile the user was created with (for tests; Graph never returns it)."""
        with self._lock:
            return dict(self._password_profiles.get((tenant, user_id), {}))

    def check_password(self, tenant: str, upn: str, password: str) -> bool:
        """Whether ``password`` signs ``upn`` in (the password it was created with)."""
        with self._lock:
            user = self._find_locked(tenant, upn)
            profile = self._password_profiles.get((tenant, user["id"]), {}) if user is not None else {}
        return bool(password) and profile.get("password") == password

    def users(self, tenant: str) -> list[dict[str, Any]]:
        """Copies of the users stored for ``tenant``."""
        with self._lock:
            return [dict(u) for u in self._users.get(tenant, {}).values()]

    def reset(self) -> None:
        """Forget users, domains, counters and faults."""
        with self._lock:
            if self._journal is not None:
                self._journal.truncate(0)
            self._users.clear()
            self._upn_index.clear()
            self._password_profiles.clear()
            self._domains.clear()
            self._federated.clear()
            self._granted.clear()
            self._proxy_addresses.clear()
            self._created_at.clear()
            self._buckets.clear()
            self.replication_lag_seconds = 0.0
            self.write_limits = ((APP_TENANT_WRITES, APP_TENANT_WINDOW_SECONDS), (TENANT_WRITES, TENANT_WINDOW_SECONDS))
            self.throttled_count = 0
            self.throttle_rate = 0.0
            self.unavailable_rate = 0.0
            self.apply_then_fail_rate = 0.0
            self.latency_ms = 0
            self.retry_after_seconds = 1
            self._rng = random.Random()
            self.request_count = 0
            self.batch_count = 0
            self.sub_request_count = 0

    def reset_counters(self) -> None:
        with self._lock:
            self.request_count = 0
            self.batch_count = 0
            self.sub_request_count = 0

    # --- HTTP ---------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/") or "/"
        if path in ("/stats", "/faults", "/reset"):  # test helpers: from this machine only
            refused = local_only(request, json_body=path == "/faults")
            if refused is not None:
                return refused
        if path == "/stats" and request.method == "GET":
            with self._lock:
                stats = {
                    "requests": self.request_count,
                    "batches": self.batch_count,
                    "subRequests": self.sub_request_count,
                    "throttled": self.throttled_count,
                }
            return Response.json(stats)
        if path == "/faults":
            return self._handle_faults(request)
        if path == "/reset" and request.method == "POST":
            self.reset()
            return Response(204)
        if path != API_VERSION and not path.startswith(API_VERSION + "/"):
            return self._respond(_error(404, "Request_ResourceNotFound", f"No route {path}"))

        with self._lock:
            self.request_count += 1
            latency = self.latency_ms
        if latency > 0:
            time.sleep(latency / 1000.0)

        tenant = self._tenant_of(request)
        if tenant is None:
            return self._respond(_error(401, "InvalidAuthenticationToken", "Access token is empty."))
        fault = self._draw_fault()
        if fault is not None:
            return self._respond(fault)

        sub_path = path[len(API_VERSION) :] or "/"
        if sub_path == "/$batch":
            if request.method != "POST":
                return self._respond(_error(405, "Request_BadRequest", "Use POST for $batch."))
            return self._respond(self._batch(tenant, request.body))
        try:
            body = json.loads(request.body) if request.body else None
        except ValueError:
            return self._respond(_error(400, "BadRequest", "Invalid JSON body."))
        return self._respond(self._dispatch(tenant, request.method, sub_path, body))

    def _handle_faults(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                data = request.json() or {}
                if not isinstance(data, dict):
                    raise ValueError("a JSON object is required")
                self.configure_faults(
                    throttle_rate=_opt_float(data, "throttleRate"),
                    unavailable_rate=_opt_float(data, "unavailableRate"),
                    apply_then_fail_rate=_opt_float(
                        data,
                        "applyThenFailRate" if "applyThenFailRate" in data else "applyThenFail",
                    ),
                    latency_ms=_opt_int(data, "latencyMs"),
                    retry_after_seconds=_opt_int(data, "retryAfterSeconds"),
                    seed=_opt_int(data, "seed"),
                    replication_lag_seconds=_opt_float(data, "replicationLagSeconds"),
                )
            except (ValueError, TypeError) as exc:
                return self._respond(_error(400, "BadRequest", str(exc)))
        elif request.method != "GET":
            return self._respond(_error(405, "BadRequest", "Use GET or POST."))
        with self._lock:
            current = {
                "throttleRate": self.throttle_rate,
                "unavailableRate": self.unavailable_rate,
                "applyThenFailRate": self.apply_then_fail_rate,
                "latencyMs": self.latency_ms,
                "retryAfterSeconds": self.retry_after_seconds,
                "replicationLagSeconds": self.replication_lag_seconds,
            }
        return Response.json(current)

    @staticmethod
    def _respond(result: _Result) -> Response:
        if result.body is None:
            return Response(result.status, dict(result.headers))
        return Response.json(result.body, result.status, result.headers)

    @staticmethod
    def _tenant_of(request: Request) -> str | None:
        header = (request.headers.get("authorization") or "").strip()
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        if token.startswith("devhost:") and len(token) > len("devhost:"):
            return token[len("devhost:") :]
        return "default"

    def _draw_fault(self) -> _Result | None:
        with self._lock:
            draw = self._rng.random()
            throttle, unavailable = self.throttle_rate, self.unavailable_rate
            retry_after = self.retry_after_seconds
        if draw < throttle:
            return _error(
                429,
                "TooManyRequests",
                "Too many requests (stand-in fault).",
                {"Retry-After": str(retry_after)},
            )
        if draw < throttle + unavailable:
            return _error(503, "serviceNotAvailable", "Service unavailable (stand-in fault).")
        return None

    def _draw_apply_then_fail(self) -> bool:
        with self._lock:
            return self.apply_then_fail_rate > 0 and self._rng.random() < self.apply_then_fail_rate

    # --- routing ------------------------------------------------------------------------

    def _dispatch(self, tenant: str, method: str, path: str, body: Any) -> _Result:
        """``path`` is below ``/v1.0`` (e.g. ``/users/x@y``), possibly with a query."""
        route = urlsplit(path).path.rstrip("/") or "/"
        method = method.upper()
        refused = self._authorize(tenant, method, route) or self._take_write(tenant, method, route)
        if refused is not None:
            return refused
        if route == "/users":
            if method == "POST":
                return self._create_user(tenant, body)
            if method == "GET":
                with self._lock:
                    value = [dict(u) for u in self._users.get(tenant, {}).values() if self._replicated_locked(tenant, u)]
                return _Result(200, {"value": value})
        elif route.startswith("/users/") and route.count("/") == 2:
            key = unquote(route[len("/users/") :])
            if method == "GET":
                return _selected(self._get_user(tenant, key), urlsplit(path).query)
            if method == "DELETE":
                return self._delete_user(tenant, key)
        elif route == "/domains" and method == "GET":
            with self._lock:
                domains = self._domains_locked(tenant)
                federated = set(self._federated.get(tenant, set()))
            value = [
                {
                    "id": d,
                    "isDefault": i == 0,
                    "isInitial": i == 0,
                    "isVerified": True,
                    "authenticationType": "Federated" if d.lower() in federated else "Managed",
                }
                for i, d in enumerate(domains)
            ]
            return _Result(200, {"value": value})
        else:
            return _error(400, "BadRequest", f"Resource not found for the segment '{route}'.")
        return _error(405, "Request_BadRequest", f"Method {method} is not allowed on {route}.")

    def _domains_locked(self, tenant: str) -> list[str]:
        return [default_domain_for(tenant), *self._domains.get(tenant, [])]

    def _authorize(self, tenant: str, method: str, route: str) -> _Result | None:
        """403 Authorization_RequestDenied unless the tenant consented to what the call needs."""
        with self._lock:
            granted = self._granted.get(tenant, CONSENTED_PERMISSIONS)
        if route == "/domains":
            needed = _READ_DOMAINS
        elif route == "/users" or route.startswith("/users/"):
            needed = _READ_USERS if method == "GET" else _WRITE_USERS
        else:
            return None
        return None if granted & needed else _denied()

    def _take_write(self, tenant: str, method: str, route: str) -> _Result | None:
        """Writes spend one token of the app+tenant bucket and of the tenant bucket."""
        if method == "GET" or not (route == "/users" or route.startswith("/users/")):
            return None
        with self._lock:
            now = self.clock()
            buckets = []
            for scope, (limit, window) in zip(("app", "tenant"), self.write_limits, strict=True):
                key = f"{scope}:{tenant}"
                bucket = self._buckets.get(key)
                if bucket is None:
                    bucket = self._buckets[key] = _Bucket(float(limit), float(window), float(limit), now)
                buckets.append(bucket)
            wait = max(bucket.wait_for(now) for bucket in buckets)
            if wait > 0:
                self.throttled_count += 1
            else:
                for bucket in buckets:
                    bucket.tokens -= 1.0
        if wait > 0:
            return _error(
                429,
                "TooManyRequests",
                "Too many requests; the write quota of this application in this tenant is used up.",
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )
        return None

    def _replicated_locked(self, tenant: str, user: dict[str, Any]) -> bool:
        """Whether a read replica already has ``user`` (replication lag mode)."""
        created = self._created_at.get((tenant, str(user["id"])))
        return created is None or self.clock() - created >= self.replication_lag_seconds

    def _find_locked(self, tenant: str, key: str) -> dict[str, Any] | None:
        users = self._users.get(tenant, {})
        if key in users:
            return users[key]
        user_id = self._upn_index.get((tenant, key.lower()))
        return users.get(user_id) if user_id else None

    def _get_user(self, tenant: str, key: str) -> _Result:
        with self._lock:
            user = self._find_locked(tenant, key)
            found = dict(user) if user is not None and self._replicated_locked(tenant, user) else None
        if found is None:
            return _error(
                404,
                "Request_ResourceNotFound",
                f"Resource '{key}' does not exist or one of its queried reference-property objects are not present.",
            )
        return _Result(200, found)

    def _delete_user(self, tenant: str, key: str) -> _Result:
        with self._lock:
            user = self._find_locked(tenant, key)
            if user is not None:
                del self._users[tenant][user["id"]]
                self._upn_index.pop((tenant, str(user["userPrincipalName"]).lower()), None)
                self._created_at.pop((tenant, user["id"]), None)
                self._journal_locked("delete", tenant, user)
        if user is None:
            return _error(
                404,
                "Request_ResourceNotFound",
                f"Resource '{key}' does not exist or one of its queried reference-property objects are not present.",
            )
        return _Result(204)

    def _create_user(self, tenant: str, body: Any) -> _Result:
        if not isinstance(body, dict):
            return _error(400, "BadRequest", "A JSON object is required.")
        for name in _REQUIRED_USER_FIELDS:
            value = body.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                return _error(
                    400,
                    "Request_BadRequest",
                    f"Invalid value specified for property '{name}' of resource 'User'.",
                )
        if not isinstance(body["accountEnabled"], bool):
            return _error(
                400,
                "Request_BadRequest",
                "Invalid value specified for property 'accountEnabled' of resource 'User'.",
            )
        profile = body.get("passwordProfile")
        password = profile.get("password") if isinstance(profile, dict) else None
        if not isinstance(password, str) or not password:
            return _error(
                400,
                "Request_BadRequest",
                "Invalid value specified for property 'passwordProfile' of resource 'User'.",
            )
        if not password_is_complex(password):
            return _error(
                400,
                "Request_BadRequest",
                "The specified password does not comply with password complexity requirements. Please provide a different password.",
            )
        upn = str(body["userPrincipalName"])
        local, at, domain = upn.rpartition("@")
        if not at or not local or not domain:
            return _error(
                400,
                "Request_BadRequest",
                "Invalid value specified for property 'userPrincipalName' of resource 'User'.",
            )
        fail_after = self._draw_apply_then_fail()
        with self._lock:
            if domain.lower() not in (d.lower() for d in self._domains_locked(tenant)):
                return _error(
                    400,
                    "Request_BadRequest",
                    "The domain portion of the userPrincipalName property is invalid. You must "
                    "use one of the verified domain names in your organization.",
                )
            if domain.lower() in self._federated.get(tenant, set()) and not body.get("onPremisesImmutableId"):
                return _error(400, "Request_BadRequest", FEDERATED_DOMAIN_MESSAGE)
            if self._find_locked(tenant, upn) is not None:
                return _conflict("userPrincipalName", UPN_CONFLICT_MESSAGE)
            if upn.lower() in self._proxy_addresses.get(tenant, set()):
                return _conflict("proxyAddresses", PROXY_CONFLICT_MESSAGE)
            user: dict[str, Any] = {
                "id": str(uuid.uuid4()),
                "userPrincipalName": upn,
                "displayName": body["displayName"],
                "mailNickname": body["mailNickname"],
                "accountEnabled": body["accountEnabled"],
                "givenName": body.get("givenName"),
                "surname": body.get("surname"),
                "mail": None,
            }
            if isinstance(body.get("onPremisesExtensionAttributes"), dict):
                user["onPremisesExtensionAttributes"] = dict(body["onPremisesExtensionAttributes"])
            self._users.setdefault(tenant, {})[user["id"]] = user
            self._upn_index[(tenant, upn.lower())] = user["id"]
            self._created_at[(tenant, user["id"])] = self.clock()
            # Graph never returns a password; tests check what it received through this.
            self._password_profiles[(tenant, user["id"])] = dict(profile) if isinstance(profile, dict) else {}
            self._journal_locked("create", tenant, user, passwordProfile=self._password_profiles[(tenant, user["id"])])
            created = dict(user)
        if fail_after:
            return _error(503, "serviceNotAvailable", "Service unavailable (stand-in fault).")
        return _Result(
            201,
            {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity", **created},
        )

    # --- JSON batching ------------------------------------------------------------------

    def _batch(self, tenant: str, raw: bytes) -> _Result:
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            return _error(400, "BadRequest", "Invalid JSON body.")
        requests = data.get("requests") if isinstance(data, dict) else None
        if not isinstance(requests, list) or not requests:
            return _error(400, "BadRequest", "The batch must contain a non-empty 'requests' list.")
        if len(requests) > MAX_BATCH_REQUESTS:
            return _error(
                400,
                "BadRequest",
                f"The number of requests in a batch exceeds the limit of {MAX_BATCH_REQUESTS}.",
            )
        ids: set[str] = set()
        for sub in requests:
            if (
                not isinstance(sub, dict)
                or not isinstance(sub.get("id"), str)
                or not isinstance(sub.get("method"), str)
                or not isinstance(sub.get("url"), str)
            ):
                return _error(400, "BadRequest", "Each request needs string id, method and url.")
            if sub["id"] in ids:
                return _error(400, "BadRequest", f"Duplicate request id '{sub['id']}'.")
            ids.add(sub["id"])
        with self._lock:
            self.batch_count += 1
            self.sub_request_count += len(requests)
        responses = []
        for sub in requests:
            result = self._draw_fault() or self._dispatch(tenant, sub["method"], _relative_url(sub["url"]), sub.get("body"))
            headers = dict(result.headers)
            if result.body is not None:
                headers.setdefault("Content-Type", "application/json")
            entry: dict[str, Any] = {"id": sub["id"], "status": result.status, "headers": headers}
            if result.body is not None:
                entry["body"] = result.body
            responses.append(entry)
        return _Result(200, {"responses": responses})


def _selected(result: _Result, query: str) -> _Result:
    """A user as Graph returns it: onPremisesExtensionAttributes only when ``$select``-ed,
    and with ``$select`` only the selected properties."""
    if result.status != 200 or not isinstance(result.body, dict):
        return result
    select = next((unquote(v) for k, _, v in (p.partition("=") for p in query.split("&")) if unquote(k) == "$select"), None)
    if select is None:
        return _Result(200, {k: v for k, v in result.body.items() if k != "onPremisesExtensionAttributes"})
    wanted = {name.strip() for name in select.split(",")} | {"id"}
    return _Result(200, {k: v for k, v in result.body.items() if k in wanted})


def _relative_url(url: str) -> str:
    """``users``, ``/users`` or an absolute Graph URL -> ``/users`` (below ``/v1.0``)."""
    if "://" in url:
        url = urlsplit(url).path + (f"?{urlsplit(url).query}" if urlsplit(url).query else "")
    if not url.startswith("/"):
        url = "/" + url
    if url == API_VERSION or url.startswith(API_VERSION + "/"):
        url = url[len(API_VERSION) :] or "/"
    return url


def _opt_float(data: dict[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number")
    return float(value)


def _opt_int(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key} must be an integer")
    return value
