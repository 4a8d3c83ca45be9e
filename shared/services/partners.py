"""Partner registration and lookup (by id, and by Entra tenant for ``/me`` callers).

A partner is one document in its own partition; the tenant index (``tenant:{tid}``) makes
"which partner is this token's tenant" a point read and keeps one tenant to one partner.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field

from shared.documents import ApiModel, Partner, TenantIndex, partner_pk, tenant_pk, utc_now
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.ports import ConflictError, DocumentStore, NotFoundError

PARTNER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
TENANT_ID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"  # an Entra tenant id (GUID)
DOMAIN_PATTERN = r"^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"


class PartnerIn(ApiModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {"displayName": "Contoso", "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47", "primaryDomain": "contoso.com"}
        }
    )

    display_name: str = Field(min_length=1, max_length=256)
    tenant_id: str = Field(pattern=TENANT_ID_PATTERN)
    primary_domain: str | None = Field(default=None, min_length=3, max_length=253, pattern=DOMAIN_PATTERN)


class PartnerOut(ApiModel):
    """The partner as the API shows it."""

    partner_id: str
    display_name: str
    tenant_id: str
    primary_domain: str | None
    created_at: datetime
    updated_at: datetime


def validate_partner_id(partner_id: str) -> str:
    if not re.fullmatch(PARTNER_ID_PATTERN, partner_id):
        raise ValidationFailed(
            "The partner id must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.",
            errors=[{"pointer": "#/partnerId", "detail": "invalid partner id"}],
        )
    return partner_id


class PartnerService:
    def __init__(self, store: DocumentStore, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._store = store
        self._clock = clock

    def document(self, partner_id: str) -> dict[str, Any] | None:
        stored = self._store.read(partner_pk(partner_id), partner_id)
        return stored.body if stored else None

    def document_by_tenant(self, tenant_id: str) -> dict[str, Any] | None:
        index = self._store.read(tenant_pk(tenant_id), tenant_id)
        if index is None:
            return None
        doc = self.document(index.body["partnerId"])
        # A half-finished re-registration can leave a stale index: trust the partner document.
        if doc is None or doc.get("tenantId") != tenant_id:
            return None
        return doc

    def get(self, partner_id: str) -> Partner:
        doc = self.document(partner_id)
        if doc is None:
            raise NotFound(f"Partner '{partner_id}' was not found.")
        return Partner.from_doc(doc)

    def register(self, partner_id: str, body: PartnerIn) -> tuple[Partner, bool]:
        """Create or update; returns (partner, created). Idempotent for the same body."""
        now = self._clock()
        existing = self._store.read(partner_pk(partner_id), partner_id)
        self._claim_tenant(body.tenant_id, partner_id)
        previous = Partner.from_doc(existing.body) if existing else None
        partner = Partner(
            id=partner_id,
            partner_id=partner_id,
            display_name=body.display_name,
            tenant_id=body.tenant_id,
            primary_domain=body.primary_domain,
            created_at=previous.created_at if previous else now,
            updated_at=now,
        )
        self._store.upsert(partner_pk(partner_id), partner.to_doc())
        if previous and previous.tenant_id != body.tenant_id:
            self._release_tenant(previous.tenant_id, partner_id)
        return partner, previous is None

    def _claim_tenant(self, tenant_id: str, partner_id: str) -> None:
        index = TenantIndex(id=tenant_id, tenant_id=tenant_id, partner_id=partner_id)
        try:
            self._store.create(tenant_pk(tenant_id), index.to_doc())
        except ConflictError:
            owner = self._store.read(tenant_pk(tenant_id), tenant_id)
            if owner and owner.body["partnerId"] != partner_id:
                owner_doc = self.document(owner.body["partnerId"])
                if owner_doc is not None and owner_doc.get("tenantId") == tenant_id:
                    raise Conflict(f"Tenant '{tenant_id}' is already registered to another partner.") from None
                # The index points at a partner that no longer claims this tenant: take it over.
                self._store.replace(tenant_pk(tenant_id), index.to_doc(), if_match=owner.etag)

    def _release_tenant(self, tenant_id: str, partner_id: str) -> None:
        index = self._store.read(tenant_pk(tenant_id), tenant_id)
        if index and index.body["partnerId"] == partner_id:
            with contextlib.suppress(NotFoundError):
                self._store.delete(tenant_pk(tenant_id), tenant_id, if_match=index.etag)

    def partner_ids(self) -> list[str]:
        return sorted(s.body["partnerId"] for s in self._store.query_all(types=[Partner.doc_type]))
