"""The stored document convention: every document has ``id``, ``pk``, ``type`` and
``schemaVersion``; fields are camelCase. Partition keys are chosen so that one partner's
evaluation reads a single partition (``partner_pk``) and uniqueness rules are point reads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def iso(instant: datetime) -> str:
    """UTC instant as ``2026-11-25T02:00:00Z``."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def partner_pk(partner_id: str) -> str:
    return f"partner:{partner_id}"


def tenant_pk(tenant_id: str) -> str:
    return f"tenant:{tenant_id}"


def msa_pk(msa_id: str) -> str:
    return f"msa:{msa_id}"


class ApiModel(BaseModel):
    """Request bodies: camelCase, unknown fields rejected (no mass assignment)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", str_strip_whitespace=True)


class StoredModel(BaseModel):
    """Base of stored documents; ``to_doc`` gives the JSON the store keeps."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    doc_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    id: str

    def to_doc(self) -> dict[str, Any]:
        doc = self.model_dump(mode="json", by_alias=True, exclude_none=False)
        doc["type"] = self.doc_type
        doc["schemaVersion"] = self.schema_version
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Any:
        return cls.model_validate(doc)
