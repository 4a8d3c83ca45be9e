"""The add-users API's shapes: the request body, the answers (an import, the user list, a
removal) as models, whose JSON schemas the OpenAPI document publishes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field

from shared.api_models import ApiOut, Omitted
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


ImportRowStatus = Literal["pending", "created", "exists", "failed"]


class ImportCountsOut(ApiOut):
    pending: int = Field(ge=0)
    created: int = Field(ge=0)
    exists: int = Field(ge=0)
    failed: int = Field(ge=0)


class ImportRowOut(ApiOut):
    row: int
    status: ImportRowStatus
    user_principal_name: str | Omitted = None
    user_id: str | Omitted = None
    error: str | Omitted = None


class ImportOut(ApiOut):  # import_view
    """An import of employees and each row's outcome."""

    import_id: str
    partner_id: str
    state: Literal["running", "completed", "failed"]
    error: str | Omitted = Field(default=None, description="Why the import failed as a whole (state failed).")
    created_at: datetime | Omitted = None
    completed_at: datetime | None = None
    counts: ImportCountsOut
    log: str | Omitted = Field(default=None, description="The one-time log file; absent once it is gone (downloaded, erased or expired)")
    log_state: Literal["available", "gone"] | Omitted = None
    results: list[ImportRowOut] = Field(
        description="Per row; the 202 answer of a large import lists only rows already done (counts.pending has the rest)"
    )


class UserOut(ApiOut):
    user_id: str
    user_principal_name: str
    display_name: str
    email: str | None = None
    status: Literal["active", "departed"]
    msa_linked: bool
    msa_linked_at: datetime | None = None


class UsersOut(ApiOut):
    """The partner's employees, active first."""

    users: list[UserOut]
