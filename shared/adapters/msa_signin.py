"""Signing a personal Microsoft account (MSA) in with MSAL: the auth code flow with PKCE.

``start`` builds the authorization URL and the flow (state, nonce, PKCE verifier) that the
caller keeps server-side; ``finish`` redeems the code from the callback and returns who signed
in. Each call uses a fresh MSAL application and token cache, so no token of one user is ever
kept (or served) for another.

MSAL does not validate the ID token it returns (it came straight from the token endpoint over
TLS); the checks that matter here are made below: the audience, the issuer, the expiry and,
above all, the tenant, which tells a personal account from a work or school one.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from shared.logs import correlation_id, provider_text
from shared.ports import Identity, SignInError, SignInUnavailableError

if TYPE_CHECKING:
    import requests

log = logging.getLogger("competency.msa")

CONSUMERS_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
CLOCK_SKEW_SECONDS = 300
HTTP_TIMEOUT_SECONDS = 15
_FOREIGN_RESPONSE = "The sign-in response does not belong to this sign-in. Start linking again."


class AuthCodeFlowClient(Protocol):
    """What the sign-in uses of ``msal.ConfidentialClientApplication`` (msal ships no types)."""

    def initiate_auth_code_flow(
        self,
        scopes: list[str],
        redirect_uri: str | None = None,
        state: str | None = None,
        prompt: str | None = None,
        login_hint: str | None = None,
    ) -> dict[str, Any]: ...

    def acquire_token_by_auth_code_flow(self, auth_code_flow: dict[str, Any], auth_response: dict[str, str]) -> object: ...


def _http_client(verify: bool | str) -> requests.Session:
    """A requests session that honours ``verify`` even when REQUESTS_CA_BUNDLE is set.

    requests lets that variable override a session's ``verify`` (it only yields to a
    per-request value), which would make a private CA bundle silently ignored.
    """
    import requests
    from requests.adapters import HTTPAdapter

    class _Session(requests.Session):
        def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # forwards Session.request's arguments
            kwargs["verify"] = verify
            kwargs.setdefault("timeout", HTTP_TIMEOUT_SECONDS)
            return super().request(*args, **kwargs)

    session = _Session()
    adapter = HTTPAdapter(max_retries=1)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class MsalSignIn:
    """``MsaSignIn`` with MSAL."""

    def __init__(
        self,
        authority: str,
        client_id: str,
        client_secret: str,
        *,
        redirect_uri: str,
        expected_tenant_id: str | None = CONSUMERS_TENANT_ID,
        verify: bool | str = True,
    ) -> None:
        parts = urlsplit(authority)
        if parts.scheme != "https" or not parts.hostname or not parts.path.strip("/"):
            raise ValueError("The MSA authority must be an https URL with a tenant, e.g. .../consumers")
        if not client_id or not client_secret:
            raise ValueError("The MSA client id and client secret are required")
        from msal.authority import WELL_KNOWN_AUTHORITY_HOSTS  # lazy: msal is heavy

        self.authority = authority.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.expected_tenant_id = expected_tenant_id or CONSUMERS_TENANT_ID
        self.verify = verify
        self._origin = f"https://{parts.netloc}"
        # Instance discovery asks login.microsoftonline.com whether the host is a Microsoft
        # cloud; for any other host (a sovereign or test authority) it would fail, so it is
        # only left on for the well-known Microsoft hosts.
        self._instance_discovery = parts.hostname.lower() in WELL_KNOWN_AUTHORITY_HOSTS

    def __repr__(self) -> str:  # never show the secret
        return f"MsalSignIn(authority={self.authority!r}, client_id={self.client_id!r})"

    def _app(self) -> AuthCodeFlowClient:
        import msal

        try:
            app: AuthCodeFlowClient = msal.ConfidentialClientApplication(
                self.client_id,
                client_credential=self._client_secret,
                authority=self.authority,
                http_client=_http_client(self.verify),
                token_cache=msal.TokenCache(),  # fresh: nothing is kept between users
                instance_discovery=None if self._instance_discovery else False,
                azure_region=False,
            )
        except (ValueError, OSError) as exc:  # discovery failed, or the network did
            raise SignInUnavailableError("The Microsoft account sign-in service cannot be reached. Try again later.") from exc
        return app

    def start(self, login_hint: str | None = None) -> tuple[str, dict[str, Any]]:
        """The URL to send the browser to, and the flow to keep until the callback."""
        import warnings

        with warnings.catch_warnings():
            # Query mode on purpose: API.md lets a script follow the redirects to the callback;
            # the code is single-use, PKCE-bound and the state is single-use server-side.
            warnings.filterwarnings("ignore", message="response_mode='form_post' is recommended")
            flow: dict[str, Any] = self._app().initiate_auth_code_flow(
                scopes=[],  # openid, profile and offline_access are always added by MSAL
                redirect_uri=self.redirect_uri,
                state=secrets.token_urlsafe(32),
                login_hint=login_hint or None,
                # Always: the person chooses the account, even one signed in before (no
                # silent sign-in into whatever session the browser holds).
                prompt="select_account",
            )
        return flow["auth_uri"], flow

    def finish(self, flow: dict[str, Any], params: dict[str, str]) -> Identity:
        """Redeem the callback parameters; the signed-in personal account, or ``SignInError``."""
        expected_state = str(flow.get("state") or "")
        state = str(params.get("state") or "")
        if not expected_state or not hmac.compare_digest(state.encode(), expected_state.encode()):
            raise SignInError(_FOREIGN_RESPONSE)
        if params.get("error"):  # refused at the provider: no need to contact it again
            raise self._provider_error(params)
        app = self._app()
        try:
            result = app.acquire_token_by_auth_code_flow(dict(flow), dict(params))
        except ValueError:  # state mismatch, or neither code nor error in the callback
            raise SignInError(_FOREIGN_RESPONSE) from None
        except RuntimeError:  # the nonce in the ID token does not match
            raise SignInError("The sign-in response failed validation. Start linking again.") from None
        except OSError as exc:
            raise SignInUnavailableError("The Microsoft account sign-in service cannot be reached. Try again later.") from exc
        if not isinstance(result, dict) or "error" in result:
            raise self._provider_error(result if isinstance(result, dict) else {})
        claims = result.get("id_token_claims")
        if not isinstance(claims, dict):
            raise SignInError("The Microsoft account sign-in returned no identity. Start linking again.")
        return self._identity(claims)

    @staticmethod
    def _provider_error(result: dict[str, Any]) -> SignInError:
        """A generic message; the provider's own text is logged with the correlation id only."""
        code = provider_text(result.get("error")) or "unknown_error"
        log.warning("MSA token request refused: %s: %s", code, provider_text(result.get("error_description")))
        return SignInError.refused(code, correlation_id.get())

    def _issuers(self, tenant: str) -> set[str]:
        """The issuers a token of this tenant may carry (Microsoft's is on its main host)."""
        issuers = {f"{self._origin}/{tenant}/v2.0"}
        if self._instance_discovery:
            issuers.add(f"https://login.microsoftonline.com/{tenant}/v2.0")
        return issuers

    def _identity(self, claims: dict[str, Any]) -> Identity:
        tenant = str(claims.get("tid") or "")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.client_id not in audiences:
            raise SignInError("The sign-in token was issued to another application. Start linking again.")
        if str(claims.get("iss") or "") not in self._issuers(tenant):
            raise SignInError("The sign-in token has an unexpected issuer. Start linking again.")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp + CLOCK_SKEW_SECONDS < time.time():
            raise SignInError("The sign-in token has expired. Start linking again.")
        if tenant.lower() != self.expected_tenant_id.lower():
            raise SignInError("This is a work or school account; sign in with a personal Microsoft account.")
        oid = str(claims.get("oid") or "")
        if not oid:
            raise SignInError("The sign-in token has no account id. Start linking again.")
        # ``email`` comes only with the email scope, and ``preferred_username`` may be a phone
        # number: neither identifies the account (``oid`` does); an address is kept if known.
        email = next((str(v) for v in (claims.get("email"), claims.get("preferred_username")) if v and "@" in str(v)), None)
        name = claims.get("name")
        return Identity(oid=oid, email=email, name=str(name) if name else None)
