"""The schemas of the two answers that are no JSON object of the suite's own (OpenAPI only):
the OpenAPI document itself and CSV text. Every other answer has its model."""

from __future__ import annotations

from typing import Any

OPENAPI: dict[str, Any] = {"type": "object", "required": ["openapi", "paths"]}

CSV: dict[str, Any] = {"type": "string"}
