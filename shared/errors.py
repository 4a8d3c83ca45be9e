"""Typed errors the services raise; the HTTP layer maps each to an RFC 9457 problem."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

PROBLEM_BASE = "https://competency-suite.example/problems/"


class ProblemError(Exception):
    """An error the caller can act on: a status, a stable type, a title and a detail."""

    status = 400
    title = "Bad request"
    slug = "bad-request"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        title: str | None = None,
        slug: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors or [])
        self.headers = dict(headers or {})
        if title:
            self.title = title
        if slug:
            self.slug = slug
        self.extra = dict(extra or {})

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class BadRequest(ProblemError):
    pass


class ValidationFailed(ProblemError):
    title = "The request is not valid"
    slug = "validation"


class Unauthorized(ProblemError):
    status = 401
    title = "Authentication required"
    slug = "unauthorized"

    def __init__(self, detail: str, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        super().__init__(detail, **kwargs)


class Forbidden(ProblemError):
    status = 403
    title = "Forbidden"
    slug = "forbidden"


class NotFound(ProblemError):
    status = 404
    title = "Not found"
    slug = "not-found"


class Conflict(ProblemError):
    status = 409
    title = "Conflict"
    slug = "conflict"


class Gone(ProblemError):
    status = 410
    title = "Gone"
    slug = "gone"


class PayloadTooLarge(ProblemError):
    status = 413
    title = "Payload too large"
    slug = "payload-too-large"


class UnsupportedMediaType(ProblemError):
    status = 415
    title = "Unsupported media type"
    slug = "unsupported-media-type"


class InternalError(ProblemError):
    status = 500
    title = "Internal error"
    slug = "internal"


class ServiceUnavailable(ProblemError):
    status = 503
    title = "Service unavailable"
    slug = "unavailable"
