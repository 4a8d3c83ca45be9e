"""JSON schemas of responses that are not pydantic models (OpenAPI only)."""

from __future__ import annotations

from typing import Any

HEALTH: dict[str, Any] = {
    "type": "object",
    "required": ["status"],
    "properties": {"status": {"const": "ok"}},
}

OPENAPI: dict[str, Any] = {"type": "object", "required": ["openapi", "paths"]}

CSV: dict[str, Any] = {"type": "string"}
