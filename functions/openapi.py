"""The OpenAPI 3.1 document, generated from the registered operations.

``python -m functions.openapi`` rewrites ``openapi.json`` (kept in the repo and served at
``GET /api/openapi.json``); a test fails when the file is out of date or misses a route.
Request and response bodies are described by their pydantic models (``...In``/``...Out``).
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from functions.http import OPERATIONS, Operation
from shared.auth import Scope

DOCUMENT_PATH = Path(__file__).resolve().parent.parent / "openapi.json"

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "correlationId": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}

_STATUS_TEXT = {
    400: "The request is not valid",
    401: "No token, or a token that is not valid",
    403: "The caller lacks the needed role",
    404: "Not found (or not visible to the caller)",
    409: "Conflict",
    410: "Gone",
    412: "Precondition failed",
    413: "The body is too large",
    415: "Unsupported media type",
    503: "A dependency is unavailable; retry",
}


def _resolve(reference: str) -> dict[str, Any] | type[BaseModel]:
    """``module:NAME``: a hand-written schema or a pydantic model."""
    module, _, attr = reference.partition(":")
    target = getattr(importlib.import_module(module), attr)
    if isinstance(target, dict) or (isinstance(target, type) and issubclass(target, BaseModel)):
        return target
    raise TypeError(f"{reference} is neither a JSON schema nor a pydantic model")


def _schema(reference: str, components: dict[str, Any], *, mode: Literal["validation", "serialization"]) -> dict[str, Any]:
    """A body's schema: a pydantic model's, by alias, with its nested models (``$defs``) in
    ``components/schemas``; or a literal one (``functions/schemas.py``: no JSON object of ours)."""
    target = _resolve(reference)
    if isinstance(target, dict):
        return target
    schema = target.model_json_schema(by_alias=True, mode=mode, ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        components.setdefault(name, definition)
    name = target.__name__
    components.setdefault(name, schema)
    return {"$ref": f"#/components/schemas/{name}"}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _operation(op: Operation, components: dict[str, Any]) -> dict[str, Any]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", op.route)
    ]
    params += [{"name": n, "in": "query", "required": False, "schema": {"type": "string"}, "description": d} for n, d in op.query.items()]
    params += [
        {"name": n, "in": "header", "required": False, "schema": {"type": "string"}, "description": d} for n, d in op.headers.items()
    ]
    body: dict[str, Any] = {"operationId": op.name, "summary": op.summary, "tags": list(op.tags)}
    body["description"] = f"Who may call it: {op.rule.describe()}."
    if params:
        body["parameters"] = params
    statuses: dict[int, Any] = {}
    ok: dict[str, Any] = {"description": "Success"}
    if op.response:
        ok["content"] = {op.response_type: {"schema": _schema(op.response, components, mode="serialization")}}
    statuses[op.status] = ok
    if op.request:
        content: dict[str, Any] = {}
        for media in op.request_types:
            if media == "application/json":
                content[media] = {"schema": _schema(op.request, components, mode="validation")}
            elif media == "application/x-www-form-urlencoded":
                content[media] = {"schema": {"type": "object", "additionalProperties": {"type": "string"}}}
            else:
                content[media] = {"schema": {"type": "string"}}
        body["requestBody"] = {"required": True, "content": content}
        for status in (400, 413, 415):
            statuses[status] = _problem(_STATUS_TEXT[status])
    if op.rule.scope is not Scope.PUBLIC:
        statuses[401] = _problem(_STATUS_TEXT[401])
        body["security"] = [{"bearer": []}]
    else:
        body["security"] = []
    if op.rule.scope in (Scope.PROGRAM, Scope.PARTNER, Scope.OWN_PARTNER):
        statuses[403] = _problem(_STATUS_TEXT[403])
    if op.rule.scope is Scope.PARTNER or params:
        statuses.setdefault(400, _problem(_STATUS_TEXT[400]))
        statuses[404] = _problem(_STATUS_TEXT[404])
    for status, text in op.responses.items():
        if status < 300:
            statuses[status] = statuses.get(op.status, {"description": text}) | {"description": text}
        else:
            statuses[status] = _problem(text)
    if op.rule.scope is not Scope.PUBLIC:
        statuses[503] = _problem(_STATUS_TEXT[503])
    body["responses"] = {str(k): v for k, v in sorted(statuses.items())}
    return body


def build_document() -> dict[str, Any]:
    components: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for op in sorted(OPERATIONS, key=lambda o: (o.route, o.method)):
        paths.setdefault("/api/" + op.route, {})[op.method.lower()] = _operation(op, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Competency suite",
            "version": "1.0.0",
            "description": "Partner competencies: employees, MSA links, nightly evaluation, membership and alerts.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def render() -> str:
    import function_app  # noqa: F401  (registers every operation)

    return json.dumps(build_document(), indent=2, sort_keys=False) + "\n"


@lru_cache(maxsize=1)
def published_document() -> bytes:
    return DOCUMENT_PATH.read_bytes()


if __name__ == "__main__":
    text = render()
    if "--check" in sys.argv:
        sys.exit(0 if DOCUMENT_PATH.exists() and DOCUMENT_PATH.read_text() == text else 1)
    DOCUMENT_PATH.write_text(text)
    print(f"wrote {DOCUMENT_PATH.name}: {len(OPERATIONS)} operations")
