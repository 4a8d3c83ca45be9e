"""Linking an employee's MSA: start the MSAL sign-in, complete it, read, unlink.

The MSAL flow (PKCE verifier, nonce, state) is kept server-side in its own document keyed
by ``state``, bound to the caller's tenant and user, single use (deleted under an ETag
condition before the code is redeemed) and valid for ``MSA_FLOW_TTL_SECONDS`` (ten minutes
by default).

The redirect URI never links: a sign-in link can be handed to someone else, and whoever
signs in with it would otherwise have their MSA moved to the starter's organisation. The
callback hands the code and state back to the browser, and the employee signed in to the
portal completes with their own token; only the account that started the sign-in may.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import ConfigDict, Field

from shared.auth import Caller
from shared.documents import ApiModel, SignInFlowDoc, UserDoc, iso, partner_pk, signin_pk, utc_now
from shared.errors import BadRequest, Forbidden, NotFound, ServiceUnavailable
from shared.logs import correlation_id, provider_text
from shared.ports import (
    DocumentStore,
    Identity,
    MsaSignIn,
    NotFoundError,
    PreconditionFailedError,
    SignInError,
    SignInUnavailableError,
    Stored,
)
from shared.services.msa_association import LinkService

FLOW_ID = "flow"
FLOW_TTL_GRACE_SECONDS = 60
COMPLETE_PATH = "/api/me/msa-link/complete"
MAX_CODE_LENGTH = 4096
UNKNOWN_FLOW = "This sign-in is unknown, was already used, or has expired. Start linking again from the portal."
log = logging.getLogger("competency.msa")


def _duration_text(seconds: int) -> str:
    """``600`` → "10 minutes", ``60`` → "1 minute", ``90`` → "90 seconds"."""
    minutes, rest = divmod(seconds, 60)
    if rest or not minutes:
        return f"{seconds} second{'' if seconds == 1 else 's'}"
    return f"{minutes} minute{'' if minutes == 1 else 's'}"


@contextlib.contextmanager
def _sign_in_call() -> Iterator[None]:
    """The sign-in's errors as the caller's problems: a refused or invalid response is a 400,
    an unreachable sign-in service a 503 to retry."""
    try:
        yield
    except SignInError as exc:
        raise BadRequest(str(exc)) from None
    except SignInUnavailableError as exc:
        raise ServiceUnavailable(str(exc)) from exc


class LinkStartIn(ApiModel):
    model_config = ConfigDict(json_schema_extra={"example": {"loginHint": "ada@outlook.com"}})

    login_hint: str | None = Field(default=None, max_length=256, pattern=r"^[^\s<>\"']+$")


class LinkStartOut(ApiModel):
    authorization_url: str


class LinkCompleteIn(ApiModel):
    """The callback's parameters, sent back by the employee who started the sign-in."""

    model_config = ConfigDict(json_schema_extra={"example": {"code": "M.C507_BAY.2.U.6f5c...", "state": "q1w2e3r4t5y6u7i8o9p0"}})

    code: str = Field(min_length=1, max_length=MAX_CODE_LENGTH)
    state: str = Field(min_length=1, max_length=256)


class CallbackOut(ApiModel):
    """What the redirect URI answers a script: the parameters to complete with."""

    code: str
    state: str
    complete: str = COMPLETE_PATH


class LinkOut(ApiModel):
    msa_id: str
    partner_id: str
    user_id: str
    linked_at: datetime
    severed_partner_id: str | None = None


class MsaLinkService:
    def __init__(
        self,
        store: DocumentStore,
        sign_in: Callable[[], MsaSignIn],
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
        with _sign_in_call():
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
            ttl=self._ttl + FLOW_TTL_GRACE_SECONDS,
        )
        self._store.create(signin_pk(flow["state"]), doc.to_doc())
        return LinkStartOut(authorization_url=url)

    def _flow(self, state: str) -> tuple[str, Stored, SignInFlowDoc]:
        """The stored sign-in of ``state``: unknown, used and expired ones are a 400."""
        if not state or len(state) > 256:
            raise BadRequest("The sign-in response has no valid state. Start linking again from the portal.")
        pk = signin_pk(state)
        stored = self._store.read(pk, FLOW_ID)
        if stored is None:
            raise BadRequest(UNKNOWN_FLOW)
        flow = SignInFlowDoc.from_doc(stored.body)
        if flow.expires_at < self._clock():
            raise BadRequest(f"This sign-in has expired (after {_duration_text(self._ttl)}). Start linking again from the portal.")
        return pk, stored, flow

    def callback(self, params: Mapping[str, str]) -> CallbackOut:
        """What the redirect URI hands back: never links, changes nothing.

        The code and state go back to whoever is signed in to the portal in this browser,
        who completes through ``complete`` with their own token.
        """
        self._flow(params.get("state") or "")
        if params.get("error"):
            log.warning("MSA sign-in refused at the provider: %s", provider_text(params.get("error")))
            raise BadRequest(str(SignInError.refused(params.get("error") or "", correlation_id.get())))
        code = params.get("code") or ""
        if not code or len(code) > MAX_CODE_LENGTH:
            raise BadRequest("The sign-in response has no authorization code. Start linking again from the portal.")
        return CallbackOut(code=code, state=params["state"])

    def complete(self, partner: Mapping[str, Any], caller: Caller, body: LinkCompleteIn) -> LinkOut:
        """Link the MSA that signed in, for the work account that started the sign-in only."""
        pk, stored, flow = self._flow(body.state)
        if (flow.tenant_id, flow.user_id, flow.partner_id) != (caller.tenant_id, caller.object_id, partner["partnerId"]):
            # Someone else's sign-in (the link was handed to this person): it is burnt, so the
            # code it produced can never be redeemed by anyone, and nothing is linked.
            with contextlib.suppress(NotFoundError, PreconditionFailedError):
                self._store.delete(pk, FLOW_ID, if_match=stored.etag)
            log.warning("an MSA sign-in started by another account was presented for completion; refused and discarded")
            raise BadRequest(
                "This sign-in was started by another account; nothing was linked. "
                "Start linking from the portal yourself, and never complete a link someone sent you."
            )
        try:
            self._store.delete(pk, FLOW_ID, if_match=stored.etag)  # single use, even under a race
        except (NotFoundError, PreconditionFailedError):
            raise BadRequest(UNKNOWN_FLOW) from None
        with _sign_in_call():
            identity: Identity = self._sign_in().finish(flow.flow, {"code": body.code, "state": body.state})
        user = self._store.read(partner_pk(flow.partner_id), UserDoc.doc_id(flow.user_id))
        if user is None or user.body.get("status") != "active":
            raise Forbidden("This account was removed from the organisation; it cannot link a Microsoft account.")
        result = self._links.link(identity.oid, flow.partner_id, flow.user_id)
        return LinkOut(
            msa_id=result.msa_id,
            partner_id=result.partner_id,
            user_id=result.user_id,
            linked_at=result.linked_at,
            severed_partner_id=result.severed_partner_id,
        )

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
