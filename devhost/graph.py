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
     "seed": int | null}

Throttle/unavailable faults are drawn for each top-level request and, independently,
for each sub-request of a batch. ``GET /_dev/graph/stats`` and ``POST /_dev/graph/reset``
are helpers for tests and the local host. ``faults``, ``stats`` and ``reset`` answer only a
caller on this machine (``standin.local_only``); ``POST /faults`` takes ``application/json``.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from devhost.standin import Request, Response, local_only

API_VERSION = "/v1.0"
MAX_BATCH_REQUESTS = 20
UPN_CONFLICT_MESSAGE = "Another object with the same value for property userPrincipalName already exists."
_REQUIRED_USER_FIELDS = ("accountEnabled", "displayName", "mailNickname", "userPrincipalName")


@dataclass
class _Result:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> _Result:
    return _Result(status, {"error": {"code": code, "message": message}}, dict(headers or {}))


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
    ) -> None:
        self._lock = threading.Lock()
        self._users: dict[str, dict[str, dict[str, Any]]] = {}  # tenant -> id -> user
        self._password_profiles: dict[tuple[str, str], dict[str, Any]] = {}
        self._domains: dict[str, list[str]] = {}  # tenant -> extra domains
        self.throttle_rate = throttle_rate
        self.unavailable_rate = unavailable_rate
        self.apply_then_fail_rate = apply_then_fail_rate
        self.latency_ms = latency_ms
        self.retry_after_seconds = retry_after_seconds
        self._rng = random.Random(seed)
        self.request_count = 0
        self.batch_count = 0
        self.sub_request_count = 0

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
            self._rng = random.Random(seed)

    def add_domain(self, tenant: str, domain: str) -> None:
        with self._lock:
            domains = self._domains.setdefault(tenant, [])
            if domain.lower() not in (d.lower() for d in domains):
                domains.append(domain)

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
            self._users.clear()
            self._password_profiles.clear()
            self._domains.clear()
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
        if route == "/users":
            if method == "POST":
                return self._create_user(tenant, body)
            if method == "GET":
                with self._lock:
                    value = [dict(u) for u in self._users.get(tenant, {}).values()]
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
            value = [{"id": d, "isDefault": i == 0, "isVerified": True, "authenticationType": "Managed"} for i, d in enumerate(domains)]
            return _Result(200, {"value": value})
        else:
            return _error(400, "BadRequest", f"Resource not found for the segment '{route}'.")
        return _error(405, "Request_BadRequest", f"Method {method} is not allowed on {route}.")

    def _domains_locked(self, tenant: str) -> list[str]:
        return [default_domain_for(tenant), *self._domains.get(tenant, [])]

    def _find_locked(self, tenant: str, key: str) -> dict[str, Any] | None:
        users = self._users.get(tenant, {})
        if key in users:
            return users[key]
        wanted = key.lower()
        for user in users.values():
            if str(user["userPrincipalName"]).lower() == wanted:
                return user
        return None

    def _get_user(self, tenant: str, key: str) -> _Result:
        with self._lock:
            user = self._find_locked(tenant, key)
            found = dict(user) if user is not None else None
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
            if self._find_locked(tenant, upn) is not None:
                return _error(400, "Request_BadRequest", UPN_CONFLICT_MESSAGE)
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
            # Graph never returns a password; tests check what it received through this.
            self._password_profiles[(tenant, user["id"])] = dict(profile) if isinstance(profile, dict) else {}
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
