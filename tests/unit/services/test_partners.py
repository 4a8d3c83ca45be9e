"""Partners: registration is create-or-update, a tenant belongs to one partner (the index that
answers "which partner is this token's tenant"), and an unknown partner is not found."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.documents import partner_pk, tenant_pk
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.services.partners import PartnerIn, validate_partner_id
from tests.unit.services.conftest import T0, Suite, tenant_of

TENANT_A = tenant_of("a")
TENANT_B = tenant_of("b")


def register(suite: Suite, partner_id: str, tenant: str, name: str = "Contoso", domain: str | None = None) -> bool:
    _, created = suite.partners.register(partner_id, PartnerIn(display_name=name, tenant_id=tenant, primary_domain=domain))
    return created


def test_a_registered_partner_is_found_by_id_and_by_its_tenant(suite: Suite) -> None:
    assert register(suite, "p1", TENANT_A, domain="contoso.example") is True
    partner = suite.partners.get("p1")
    assert (partner.partner_id, partner.display_name, partner.tenant_id, partner.primary_domain) == (
        "p1",
        "Contoso",
        TENANT_A,
        "contoso.example",
    )
    found = suite.partners.document_by_tenant(TENANT_A)
    assert found is not None and found["partnerId"] == "p1"
    assert suite.partners.partner_ids() == ["p1"]


def test_registering_again_updates_and_keeps_the_creation_time(suite: Suite) -> None:
    register(suite, "p1", TENANT_A)
    suite.clock.advance(hours=5)
    assert register(suite, "p1", TENANT_A, name="Contoso Ltd") is False
    partner = suite.partners.get("p1")
    assert partner.display_name == "Contoso Ltd"
    assert (partner.created_at, partner.updated_at) == (T0, suite.clock())


def test_a_tenant_belongs_to_one_partner(suite: Suite) -> None:
    register(suite, "p1", TENANT_A)
    with pytest.raises(Conflict) as refused:
        register(suite, "p2", TENANT_A)
    assert TENANT_A in refused.value.detail
    assert suite.partners.document("p2") is None, "the refused registration stores nothing"
    found = suite.partners.document_by_tenant(TENANT_A)
    assert found is not None and found["partnerId"] == "p1"


def test_moving_a_partner_to_another_tenant_frees_the_old_one(suite: Suite) -> None:
    register(suite, "p1", TENANT_A)
    register(suite, "p1", TENANT_B)
    assert suite.partners.document_by_tenant(TENANT_A) is None
    assert suite.store.read(tenant_pk(TENANT_A), TENANT_A) is None, "the old tenant's index is deleted, not left stale"
    moved = suite.partners.document_by_tenant(TENANT_B)
    assert moved is not None and moved["partnerId"] == "p1"
    assert register(suite, "p2", TENANT_A) is True
    claimed = suite.partners.document_by_tenant(TENANT_A)
    assert claimed is not None and claimed["partnerId"] == "p2"


def test_an_index_left_by_an_unfinished_move_neither_answers_nor_blocks(suite: Suite) -> None:
    """A move that stored the partner's new tenant but stopped before releasing the old index."""
    register(suite, "p1", TENANT_A)
    stored = suite.store.read(partner_pk("p1"), "p1")
    assert stored is not None
    suite.store.upsert(partner_pk("p1"), {**stored.body, "tenantId": TENANT_B})
    assert suite.partners.document_by_tenant(TENANT_A) is None, "the partner document is trusted, not the stale index"
    assert register(suite, "p2", TENANT_A) is True
    claimed = suite.partners.document_by_tenant(TENANT_A)
    assert claimed is not None and claimed["partnerId"] == "p2"


def test_an_unknown_partner_or_tenant_is_not_found(suite: Suite) -> None:
    with pytest.raises(NotFound):
        suite.partners.get("nobody")
    assert suite.partners.document("nobody") is None
    assert suite.partners.document_by_tenant(TENANT_A) is None


def test_partners_are_listed_in_order(suite: Suite) -> None:
    for partner_id in ("zeta", "alpha", "mid"):
        register(suite, partner_id, tenant_of(partner_id))
    assert suite.partners.partner_ids() == ["alpha", "mid", "zeta"]


@pytest.mark.parametrize("partner_id", ["", "-leading-dash", "has space", "x" * 65, "slash/inside"])
def test_a_malformed_partner_id_is_refused(partner_id: str) -> None:
    with pytest.raises(ValidationFailed):
        validate_partner_id(partner_id)


@pytest.mark.parametrize(
    "body",
    [
        {"displayName": "Contoso", "tenantId": "not-a-guid"},
        {"displayName": "", "tenantId": TENANT_A},
        {"displayName": "Contoso", "tenantId": TENANT_A, "primaryDomain": "no_tld"},
    ],
)
def test_a_malformed_registration_is_refused(body: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        PartnerIn.model_validate(body)
