"""JSON schemas of responses that are not pydantic models (OpenAPI only)."""

from __future__ import annotations

from typing import Any

HEALTH: dict[str, Any] = {
    "type": "object",
    "required": ["status", "poisonMessages"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "degraded"]},
        "poisonMessages": {
            "type": "object",
            "description": "Messages in each <queue>-poison queue; any is degraded (they need an operator)",
            "additionalProperties": {"type": "integer", "minimum": 0},
        },
        "unavailable": {"type": "array", "items": {"type": "string"}, "description": "Dependencies that did not answer"},
        "warnings": {"type": "array", "items": {"type": "string"}, "description": "Configuration an operator must fix"},
    },
}

OPENAPI: dict[str, Any] = {"type": "object", "required": ["openapi", "paths"]}

CSV: dict[str, Any] = {"type": "string"}
