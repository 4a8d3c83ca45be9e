"""Linking an employee's MSA: start the MSAL sign-in, finish it at the callback, read, unlink.

The MSAL flow (PKCE verifier, nonce, state) is kept server-side in its own document keyed
by ``state``, bound to the caller's tenant and user, single use (deleted under an ETag
condition before the code is redeemed) and valid for ten minutes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field

from shared.auth import Caller
from shared.bootstrap import Container, container
from shared.documents import ApiModel, StoredModel, UserDoc, iso, partner_pk, signin_pk, utc_now
from shared.errors import BadRequest, Forbidden, NotFound
from shared.ports import DocumentStore, NotFoundError, PreconditionFailedError
from shared.services.links import LinkService

FLOW_ID = "flow"


class LinkStartIn(ApiModel):
    login_hint: str | None = Field(default=None, max_length=256, pattern=r"^[^\s<>\"']+$")


class LinkStartOut(ApiModel):
    authorization_url: str


class LinkOut(ApiModel):
    msa_id: str
    partner_id: str
    user_id: str
    linked_at: datetime
    severed_partner_id: str | None = None


class SignInFlowDoc(StoredModel):
    doc_type = "signinFlow"
    partner_id: str
    tenant_id: str
    user_id: str
    flow: dict[str, Any]
    created_at: datetime
    expires_at: datetime


class MsaLinkService:
    def __init__(
        self,
        store: DocumentStore,
        sign_in: Callable[[], Any],
        links: LinkService,
        *,
        flow_ttl_seconds: int = 600,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._sign_in = sign_in
        self._links = links
        self._ttl = flow_ttl_seconds
        self._clock = clock

    def _employee(self, partner: Mapping[str, Any], caller: Caller) -> UserDoc:
        """The caller as an employee of the partner; one seen for the first time is recorded."""
        pk = partner_pk(partner["partnerId"])
        stored = self._store.read(pk, UserDoc.doc_id(caller.object_id))
        if stored is not None:
            user = UserDoc.from_doc(stored.body)
            if user.status != "active":
                raise Forbidden("This account was removed from the organisation; it cannot link a Microsoft account.")
            return user
        user = UserDoc(
            id=UserDoc.doc_id(caller.object_id),
            user_id=caller.object_id,
            partner_id=partner["partnerId"],
            user_principal_name=caller.upn or caller.object_id,
            display_name=caller.name or caller.upn or caller.object_id,
            created_at=self._clock(),
        )
        self._store.upsert(pk, user.to_doc())
        return user

    def start(self, partner: Mapping[str, Any], caller: Caller, body: LinkStartIn) -> LinkStartOut:
        user = self._employee(partner, caller)
        url, flow = self._sign_in().start(login_hint=body.login_hint)
        now = self._clock()
        doc = SignInFlowDoc(
            id=FLOW_ID,
            partner_id=partner["partnerId"],
            tenant_id=caller.tenant_id,
            user_id=user.user_id,
            flow=flow,
            created_at=now,
            expires_at=now + timedelta(seconds=self._ttl),
        )
        self._store.create(signin_pk(flow["state"]), doc.to_doc())
        return LinkStartOut(authorization_url=url)

    def finish(self, params: Mapping[str, str]) -> tuple[LinkOut, str]:
        """Redeem the callback; returns the link and the partner's display name."""
        state = params.get("state") or ""
        if not state or len(state) > 256:
            raise BadRequest("The sign-in response has no valid state. Start linking again from the portal.")
        pk = signin_pk(state)
        stored = self._store.read(pk, FLOW_ID)
        if stored is None:
            raise BadRequest("This sign-in is unknown, was already used, or has expired. Start linking again from the portal.")
        try:
            self._store.delete(pk, FLOW_ID, if_match=stored.etag)  # single use, even under a race
        except (NotFoundError, PreconditionFailedError):
            raise BadRequest("This sign-in was already used. Start linking again from the portal.") from None
        flow = SignInFlowDoc.from_doc(stored.body)
        if flow.expires_at < self._clock():
            raise BadRequest("This sign-in has expired (after 10 minutes). Start linking again from the portal.")
        identity = self._sign_in().finish(flow.flow, dict(params))
        partner = self._store.read(partner_pk(flow.partner_id), flow.partner_id)
        if partner is None:
            raise NotFound("The organisation of this sign-in no longer exists.")
        user = self._store.read(partner_pk(flow.partner_id), UserDoc.doc_id(flow.user_id))
        if user is None or user.body.get("status") != "active":
            raise Forbidden("This account was removed from the organisation; it cannot link a Microsoft account.")
        result = self._links.link(identity.oid, flow.partner_id, flow.user_id)
        out = LinkOut(
            msa_id=result.msa_id,
            partner_id=result.partner_id,
            user_id=result.user_id,
            linked_at=result.linked_at,
            severed_partner_id=result.severed_partner_id,
        )
        return out, str(partner.body.get("displayName") or flow.partner_id)

    def current(self, partner: Mapping[str, Any], caller: Caller) -> dict[str, Any]:
        mirror = self._links.linked_msa_of_user(partner["partnerId"], caller.object_id)
        if mirror is None:
            raise NotFound("No Microsoft account is linked to your work account.")
        return {
            "msaId": mirror.msa_id,
            "partnerId": partner["partnerId"],
            "userId": caller.object_id,
            "linkedAt": iso(mirror.linked_at) if mirror.linked_at else None,
        }

    def unlink(self, partner: Mapping[str, Any], caller: Caller) -> None:
        self._links.unlink_user(partner["partnerId"], caller.object_id)

    def sweep_expired_flows(self) -> int:
        """Delete sign-ins never finished (their PKCE verifier must not linger)."""
        now = self._clock()
        count = 0
        for stored in self._store.query_all(types=[SignInFlowDoc.doc_type]):
            if datetime.fromisoformat(str(stored.body["expiresAt"]).replace("Z", "+00:00")) < now:
                try:
                    self._store.delete(stored.body["pk"], FLOW_ID, if_match=stored.etag)
                    count += 1
                except (NotFoundError, PreconditionFailedError):
                    pass
        return count


def msa_link_service(c: Container | None = None) -> MsaLinkService:
    c = c or container()

    def sign_in() -> Any:
        def build(c: Container) -> Any:
            from shared.adapters.msa_signin import MsaSignIn

            s = c.settings
            return MsaSignIn(
                s.msa_authority,
                s.msa_client_id or "",
                s.msa_client_secret or "",
                redirect_uri=s.msa_redirect_uri or "",
                expected_tenant_id=s.msa_tenant_id,
                verify=s.msa_ca_bundle or True,
            )

        return c.service("msa-signin", build)

    return c.service(
        "msa-link",
        lambda c: MsaLinkService(c.store, sign_in, LinkService(c.store), flow_ttl_seconds=c.settings.msa_flow_ttl_seconds),
    )
