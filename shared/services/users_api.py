"""The add-users API's shapes: the request body, the answers (an import, the user list, a
removal) and their JSON schemas for the OpenAPI document."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import ConfigDict, Field

from shared.documents import ApiModel, ImportDoc, iso
from shared.domain import provisioning as rules


class UsersIn(ApiModel):
    """The JSON body (for the OpenAPI document; rows are validated one by one)."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {"users": [{"displayName": "Ada Lovelace", "givenName": "Ada", "surname": "Lovelace", "email": "ada@contoso.com"}]}
        }
    )

    users: list[rules.UserRow] = Field(min_length=1)


class RemovedOut(ApiModel):
    """What removing an employee did: always departed; the directory account deleted only
    when the suite created it."""

    user_id: str
    status: Literal["departed"]
    directory_account: Literal["deleted", "kept"]


def _counts(rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    counts = {"pending": 0, "created": 0, "exists": 0, "failed": 0}
    for row in rows:
        counts[row["status"]] += 1
    return counts


def import_view(doc: ImportDoc, rows: Sequence[Mapping[str, Any]], *, log_available: bool = True, accepted: bool = False) -> dict[str, Any]:
    """The import in the API shape. ``accepted`` (the 202 answer of a large import): the
    counts carry the pending rows, not one result each. The log link only while the log
    file still holds the passwords."""
    results = []
    for r in rows:
        if accepted and r["status"] == "pending":
            continue
        item = {"row": r["row"], "status": r["status"]}
        for key in ("userPrincipalName", "userId", "error"):
            if r.get(key):
                item[key] = r[key]
        results.append(item)
    return {
        "importId": doc.import_id,
        "partnerId": doc.partner_id,
        "state": doc.state,
        "createdAt": iso(doc.created_at),
        "completedAt": iso(doc.completed_at) if doc.completed_at else None,
        "counts": _counts(rows),
        "results": results,
        "logState": "available" if log_available else "gone",
        **({"log": f"/api/partners/{doc.partner_id}/imports/{doc.import_id}/log"} if log_available else {}),
        **({"error": doc.error} if doc.state == "failed" and doc.error else {}),
    }


IMPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["importId", "partnerId", "state", "counts", "results"],
    "properties": {
        "importId": {"type": "string"},
        "partnerId": {"type": "string"},
        "state": {"type": "string", "enum": ["running", "completed", "failed"]},
        "error": {"type": "string", "description": "Why the import failed as a whole (state failed)."},
        "createdAt": {"type": "string", "format": "date-time"},
        "completedAt": {"type": ["string", "null"], "format": "date-time"},
        "counts": {
            "type": "object",
            "additionalProperties": False,
            "required": ["pending", "created", "exists", "failed"],
            "properties": {k: {"type": "integer", "minimum": 0} for k in ("pending", "created", "exists", "failed")},
        },
        "log": {"type": "string", "description": "The one-time log file; absent once it is gone (downloaded, erased or expired)"},
        "logState": {"type": "string", "enum": ["available", "gone"]},
        "results": {
            "type": "array",
            "description": "Per row; the 202 answer of a large import lists only rows already done (counts.pending has the rest)",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["row", "status"],
                "properties": {
                    "row": {"type": "integer"},
                    "status": {"type": "string", "enum": ["pending", "created", "exists", "failed"]},
                    "userPrincipalName": {"type": "string"},
                    "userId": {"type": "string"},
                    "error": {"type": "string"},
                },
            },
        },
    },
}

USERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["users"],
    "properties": {
        "users": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["userId", "userPrincipalName", "displayName", "status", "msaLinked"],
                "properties": {
                    "userId": {"type": "string"},
                    "userPrincipalName": {"type": "string"},
                    "displayName": {"type": "string"},
                    "email": {"type": ["string", "null"]},
                    "status": {"type": "string", "enum": ["active", "departed"]},
                    "msaLinked": {"type": "boolean"},
                    "msaLinkedAt": {"type": ["string", "null"], "format": "date-time"},
                },
            },
        }
    },
}
