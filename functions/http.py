"""How every HTTP function is declared and run: one place for auth, errors and parsing.

``endpoint`` registers a function on a Blueprint together with its access ``Rule`` and its
OpenAPI description; the registry it fills is what the OpenAPI document and the
authorisation-matrix test read. Routing itself is the Functions host's (``devhost.routing``
builds the same table from the registrations), so no second routing table exists.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

import azure.functions as func

from shared.auth import Caller, Rule
from shared.errors import (
    BadRequest,
    Conflict,
    InternalError,
    PayloadTooLarge,
    ProblemError,
    ServiceUnavailable,
    UnsupportedMediaType,
    ValidationFailed,
)
from shared.logs import new_correlation_id

if TYPE_CHECKING:
    from pydantic import BaseModel

    M = TypeVar("M", bound=BaseModel)

log = logging.getLogger("competency.http")

PROBLEM_JSON = "application/problem+json"
MAX_JSON_BYTES = 1_000_000
MAX_JSON_DEPTH = 400
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


@dataclass(frozen=True)
class Operation:
    """One HTTP operation as declared; read by OpenAPI and the tests."""

    name: str
    route: str  # Azure route template below /api, e.g. "partners/{partnerId}"
    method: str
    rule: Rule
    summary: str
    tags: tuple[str, ...] = ()
    request: str | None = None  # "module:Model" or "csv" etc., resolved lazily for OpenAPI
    request_types: tuple[str, ...] = ("application/json",)
    response: str | None = None  # "module:Model" or "module:SCHEMA" (a JSON schema dict)
    response_type: str = "application/json"
    status: int = 200
    responses: Mapping[int, str] = field(default_factory=dict)  # extra statuses → description
    query: Mapping[str, str] = field(default_factory=dict)  # query parameter → description
    headers: Mapping[str, str] = field(default_factory=dict)  # request header → description


OPERATIONS: list[Operation] = []


@dataclass
class Call:
    """What a handler gets: the request, the authenticated caller and the partner in scope."""

    req: func.HttpRequest
    caller: Caller | None
    partner: dict[str, Any] | None
    correlation_id: str

    # The SDK's HttpRequest leaves these properties unannotated; its abstract base types them
    # ``Mapping[str, str]``, which is what they are.

    def path(self, name: str) -> str:
        params: Mapping[str, str] = self.req.route_params
        return params[name]

    def query(self, name: str) -> str | None:
        params: Mapping[str, str] = self.req.params
        return params.get(name)

    def query_date(self, name: str) -> date | None:
        """An optional ``YYYY-MM-DD`` query parameter; anything else is a 400 naming it."""
        value = self.query(name)
        if value is None or value == "":
            return None
        try:
            if len(value) != 10:
                raise ValueError
            return date.fromisoformat(value)
        except ValueError:
            raise ValidationFailed(
                f"Query parameter '{name}' must be a date (YYYY-MM-DD).", errors=[{"pointer": f"#/{name}", "detail": "not a date"}]
            ) from None

    @property
    def partner_id(self) -> str:
        assert self.partner is not None
        return str(self.partner["partnerId"])

    def header(self, name: str) -> str | None:
        headers: Mapping[str, str] = self.req.headers
        return headers.get(name)

    def content_type(self) -> str:
        return (self.req.headers.get("content-type") or "").split(";")[0].strip().lower()

    def body_bytes(self, *, limit: int) -> bytes:
        body = self.req.get_body() or b""
        if len(body) > limit:
            raise PayloadTooLarge(f"The request body is {len(body)} bytes; the limit is {limit} bytes.")
        return body

    def json(self, *, limit: int = MAX_JSON_BYTES) -> Any:
        if self.content_type() not in ("application/json", "") and not self.content_type().endswith("+json"):
            raise UnsupportedMediaType("Send the body as application/json.")
        body = self.body_bytes(limit=limit)
        if not body.strip():
            raise BadRequest("The request body is empty; a JSON document is expected.")
        return parse_json(body)

    def model(self, model: type[M], *, limit: int = MAX_JSON_BYTES) -> M:
        return parse_model(model, self.json(limit=limit))


class _DuplicateKey(ValueError):
    pass


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _DuplicateKey(key)
        obj[key] = value
    return obj


def _depth(value: object) -> int:
    """How deeply arrays and objects nest (``[]`` is 1), without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def parse_json(body: bytes) -> Any:
    """A JSON request body (RFC 8259): UTF-8 only, arrays and objects nested at most
    ``MAX_JSON_DEPTH`` deep, no object with the same key twice."""
    if b"\x00" in body or body[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise BadRequest("The request body must be JSON in UTF-8; UTF-16 and UTF-32 are refused.")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"The request body is not UTF-8 (byte {exc.start}).") from None
    too_deep = BadRequest(f"The request body nests arrays and objects more than {MAX_JSON_DEPTH} deep.")
    try:
        data = json.loads(text, object_pairs_hook=_object_without_duplicates)
    except _DuplicateKey as exc:
        raise BadRequest(f"The request body has the key {str(exc)[:64]!r} twice in one object.") from None
    except json.JSONDecodeError as exc:
        raise BadRequest(f"The request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise too_deep from None
    if _depth(data) > MAX_JSON_DEPTH:
        raise too_deep
    return data


def parse_model(model: type[M], data: object) -> M:
    """Validate a decoded body; every field error reported as RFC 9457 ``errors``."""
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {
                "pointer": "#/" + "/".join(str(p) for p in e["loc"]),
                "detail": e["msg"],
            }
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise ValidationFailed("The request body does not match the expected shape.", errors=errors) from None


# --- responses ------------------------------------------------------------------------------


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(data, separators=(",", ":"), default=str),
        status_code=status,
        headers={**SECURITY_HEADERS, **(headers or {})},
        mimetype="application/json",
        charset="utf-8",
    )


def csv_attachment(content: str, filename: str) -> func.HttpResponse:
    """A CSV download: never cached (it may hold passwords or personal data)."""
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"', "Pragma": "no-cache"}
    return func.HttpResponse(content, status_code=200, mimetype="text/csv", charset="utf-8", headers=headers)


def no_content(headers: Mapping[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(status_code=204, headers={**SECURITY_HEADERS, **(headers or {})})


def problem_response(error: ProblemError, *, instance: str | None = None, cid: str | None = None) -> func.HttpResponse:
    body = error.to_problem(instance)
    if cid:
        body["correlationId"] = cid
    return func.HttpResponse(
        json.dumps(body),
        status_code=error.status,
        headers={**SECURITY_HEADERS, **error.headers},
        mimetype=PROBLEM_JSON,
        charset="utf-8",
    )


# --- registration ---------------------------------------------------------------------------

Handler = Callable[[Call], func.HttpResponse]


def endpoint(
    bp: func.Blueprint,
    route: str,
    method: str,
    *,
    name: str,
    rule: Rule,
    summary: str,
    tags: Iterable[str] = (),
    request: str | None = None,
    request_types: Iterable[str] = ("application/json",),
    response: str | None = None,
    response_type: str = "application/json",
    status: int = 200,
    responses: Mapping[int, str] | None = None,
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Callable[[Handler], Handler]:
    """Register ``handler`` as an anonymous-level HTTP function guarded by ``rule``."""
    operation = Operation(
        name=name,
        route=route,
        method=method.upper(),
        rule=rule,
        summary=summary,
        tags=tuple(tags),
        request=request,
        request_types=tuple(request_types),
        response=response,
        response_type=response_type,
        status=status,
        responses=dict(responses or {}),
        query=dict(query or {}),
        headers=dict(headers or {}),
    )

    def register(handler: Handler) -> Handler:
        # ``context`` is the host's invocation context (trace context); the local host omits it.
        def run(req: func.HttpRequest, context: func.Context = None) -> func.HttpResponse:  # type: ignore[assignment]  # the worker binds an exact func.Context
            return invoke(operation, handler, req, context)

        run.__name__ = name
        run.__qualname__ = name
        run.__doc__ = summary
        bp.function_name(name)(bp.route(route=route, methods=[operation.method], auth_level=func.AuthLevel.ANONYMOUS)(run))
        OPERATIONS.append(operation)
        return handler

    return register


def invoke(operation: Operation, handler: Handler, req: func.HttpRequest, context: func.Context | None = None) -> func.HttpResponse:
    """One trace span per request (continuing the host's trace, carrying the correlation id)."""
    from shared.telemetry import invocation

    cid = new_correlation_id(req.headers.get("x-correlation-id"))
    attributes = {"http.request.method": operation.method, "http.route": "/api/" + operation.route, "faas.trigger": "http"}
    with invocation(
        f"{operation.method} /api/{operation.route}", kind="server", context=context, headers=req.headers, cid=cid, attributes=attributes
    ) as current:
        response = _run(operation, handler, req, cid)
        current.set_attribute("http.response.status_code", response.status_code)
        if response.status_code >= 500:
            from opentelemetry.trace import Status, StatusCode

            current.set_status(Status(StatusCode.ERROR))
    response.headers["X-Correlation-Id"] = cid
    return response


def _run(operation: Operation, handler: Handler, req: func.HttpRequest, cid: str) -> func.HttpResponse:
    """Authenticate, authorise, run, and turn every failure into a problem response."""
    instance = "/api/" + operation.route.format(**req.route_params) if req.route_params else None
    try:
        caller, partner = _authorise(operation, req)
        response = handler(Call(req=req, caller=caller, partner=partner, correlation_id=cid))
    except ProblemError as error:
        if error.status >= 500:
            log.warning("%s failed: %s", operation.name, error.detail)
        response = problem_response(error, instance=instance, cid=cid)
    except Exception as exc:
        from shared.ports import (
            ConflictError,
            DocumentTooLargeError,
            PreconditionFailedError,
            StoreConfigurationError,
            StoreUnavailableError,
        )
        from shared.settings import SettingsError

        if isinstance(exc, StoreConfigurationError | SettingsError):
            # The deployment, not the request: the operator's log says what to fix.
            log.error("%s: the service is misconfigured: %s", operation.name, exc)
            response = problem_response(
                ServiceUnavailable("The service is not configured correctly; its operator has been told what to fix."),
                instance=instance,
                cid=cid,
            )
        elif isinstance(exc, DocumentTooLargeError):
            log.warning("%s: %s", operation.name, exc)
            response = problem_response(
                PayloadTooLarge("The data would exceed the data store's 2 MB item limit; send it in smaller parts."),
                instance=instance,
                cid=cid,
            )
        elif isinstance(exc, ConflictError | PreconditionFailedError):
            # A write raced with another one; nothing half-done is left behind, so retrying is safe.
            response = problem_response(Conflict("The resource was changed concurrently; retry the request."), instance=instance, cid=cid)
        elif isinstance(exc, StoreUnavailableError):
            # Name the dependency that failed (data store or message queue), not a generic one.
            log.warning("%s: the %s is unavailable: %s", operation.name, exc.dependency, exc)
            response = problem_response(
                ServiceUnavailable(
                    f"The {exc.dependency} is unavailable; retry shortly.",
                    headers={"Retry-After": "5"},
                    extra={"dependency": exc.dependency},
                ),
                instance=instance,
                cid=cid,
            )
        else:
            log.exception("%s failed unexpectedly", operation.name)
            response = problem_response(
                InternalError("An unexpected error occurred. Quote the correlation id when reporting it."), instance=instance, cid=cid
            )
    return response


def _authorise(operation: Operation, req: func.HttpRequest) -> tuple[Caller | None, dict[str, Any] | None]:
    rule = operation.rule
    if not rule.needs_token:
        return None, None
    from shared.auth import authorize
    from shared.bootstrap import container, partner_service

    caller = container().tokens.validate(req.headers.get("authorization"))
    partners = partner_service()
    partner = authorize(
        rule,
        caller,
        partner_id=req.route_params.get("partnerId"),
        load_partner=partners.document,
        load_partner_by_tenant=partners.document_by_tenant,
    )
    return caller, partner
