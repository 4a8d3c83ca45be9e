"""A minimal OpenID Connect provider standing in for personal Microsoft accounts (MSA).

It is mounted under ``/consumers`` on an HTTPS server, so the authority MSAL is given is
``https://localhost:<port>/consumers``. With ``instance_discovery=False`` MSAL fetches only:

* ``GET  /consumers/v2.0/.well-known/openid-configuration`` (tenant discovery), then
* ``GET  /consumers/oauth2/v2.0/authorize`` (in the browser; ``POST`` submits the sign-in form),
* ``POST /consumers/oauth2/v2.0/token`` (code redemption, PKCE S256, client secret).

The keys are served at ``/consumers/discovery/v2.0/keys``. As with the real service, the
issuer is ``<base>/<tenant id>/v2.0`` (MSAL does not compare it with an ``authority=``).

Anyone can sign in as any e-mail address or phone number (``+14255550100``); the object id
is a stable function of that sign-in name, so the same name always yields the same ``oid``.
``error@example.com`` is refused with ``access_denied``; ``issue_tenant_override`` makes it
issue tokens of another tenant (as a work or school account would be).

As the real service does, the id token carries ``email`` only when the ``email`` scope was
requested and the account has an address (``omit_email`` makes every account one without);
``preferred_username`` is the sign-in name, which may be a phone number.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from devhost.standin import Request, Response

CONSUMERS_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
ERROR_EMAIL = "error@example.com"
_OID_NAMESPACE = uuid.UUID("5b0c6a8e-4f0a-4b57-9a43-6d1b1f1a6c11")
CODE_TTL_SECONDS = 300
PENDING_TTL_SECONDS = 600
TOKEN_TTL_SECONDS = 3600
SCOPE = "openid profile offline_access"
_PHONE = re.compile(r"^\+?[0-9]{7,15}$")

AUTHORIZE_PATH = "/oauth2/v2.0/authorize"
TOKEN_PATH = "/oauth2/v2.0/token"  # noqa: S105 - a path, not a secret
DISCOVERY_PATH = "/v2.0/.well-known/openid-configuration"
KEYS_PATH = "/discovery/v2.0/keys"


def stable_oid(email: str) -> str:
    """The object id of the account with this address (the same address, the same id)."""
    return str(uuid.uuid5(_OID_NAMESPACE, email.strip().lower()))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class _AuthRequest:
    client_id: str
    redirect_uri: str
    state: str
    nonce: str
    code_challenge: str
    scope: str
    response_mode: str
    created: float


@dataclass
class _Code:
    request: _AuthRequest
    email: str
    created: float


class _Invalid(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


class MsaStandIn:
    prefix = "/consumers"

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        tenant_id: str = CONSUMERS_TENANT_ID,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.tenant_id = tenant_id
        self.issue_tenant_override: str | None = None  # test hook: tokens of another tenant
        self.omit_email = False  # accounts without an e-mail address (signed up with a phone)
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = _b64url(hashlib.sha256(str(self._key.public_key().public_numbers().n).encode()).digest()[:15])
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._pending: dict[str, _AuthRequest] = {}
        self.clock = time.time

    # --- routing -----------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        route = (request.method, request.path.rstrip("/") or "/")
        if route == ("GET", DISCOVERY_PATH):
            return Response.json(self.openid_configuration(request.base_url))
        if route == ("GET", KEYS_PATH):
            return Response.json(self.jwks())
        if route == ("GET", AUTHORIZE_PATH):
            return self._authorize(request)
        if route == ("POST", AUTHORIZE_PATH):
            return self._sign_in_form_post(request)
        if route == ("POST", TOKEN_PATH):
            return self._token(request)
        return Response.json({"error": "not_found", "error_description": request.full_path}, 404)

    # --- metadata ----------------------------------------------------------------------------

    def issuer(self, base_url: str, tenant_id: str | None = None) -> str:
        return f"{base_url}/{tenant_id or self.tenant_id}/v2.0"

    def openid_configuration(self, base_url: str) -> dict[str, Any]:
        root = base_url + self.prefix
        return {
            "issuer": self.issuer(base_url),
            "authorization_endpoint": root + AUTHORIZE_PATH,
            "token_endpoint": root + TOKEN_PATH,
            "jwks_uri": root + KEYS_PATH,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "form_post"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "nbf",
                "nonce",
                "name",
                "preferred_username",
                "email",
                "oid",
                "tid",
                "ver",
            ],
            "tenant_region_scope": None,
            "cloud_instance_name": "localhost",
        }

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"kid": self._kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    # --- authorization endpoint --------------------------------------------------------------

    def _authorize(self, request: Request) -> Response:
        arg = request.arg
        client_id = arg("client_id") or ""
        redirect_uri = arg("redirect_uri") or ""
        if not hmac.compare_digest(client_id.encode(), self.client_id.encode()):
            return _error_page("unauthorized_client", "The application (client_id) is not registered.")
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
            return _error_page("invalid_request", "redirect_uri is missing or not an absolute URL.")
        state = arg("state") or ""
        response_mode = arg("response_mode") or "query"
        if response_mode not in ("query", "form_post"):
            response_mode = "query"
        try:
            if arg("response_type") != "code":
                raise _Invalid("unsupported_response_type", "Only response_type=code is supported.")
            if not state:
                raise _Invalid("invalid_request", "state is required.")
            if "openid" not in (arg("scope") or "").split():
                raise _Invalid("invalid_scope", "The scope must include openid.")
            if not arg("nonce"):
                raise _Invalid("invalid_request", "nonce is required.")
            challenge = arg("code_challenge") or ""
            if not challenge or arg("code_challenge_method") != "S256":
                raise _Invalid("invalid_request", "PKCE with code_challenge_method=S256 is required.")
        except _Invalid as problem:
            return self._respond(
                redirect_uri,
                response_mode,
                {"error": problem.error, "error_description": problem.description, "state": state},
            )
        auth = _AuthRequest(
            client_id=client_id,
            redirect_uri=redirect_uri,
            state=state,
            nonce=arg("nonce") or "",
            code_challenge=challenge,
            scope=arg("scope") or "",
            response_mode=response_mode,
            created=self.clock(),
        )
        login_hint = (arg("login_hint") or "").strip()
        if login_hint:
            return self._signed_in(auth, login_hint)
        pending_id = secrets.token_urlsafe(24)
        with self._lock:
            self._expire()
            self._pending[pending_id] = auth
        return _sign_in_page(request.base_url + self.prefix + AUTHORIZE_PATH, pending_id)

    def _sign_in_form_post(self, request: Request) -> Response:
        form = request.form()
        with self._lock:
            self._expire()
            auth = self._pending.pop(form.get("request") or "", None)
        if auth is None:
            return _error_page("invalid_request", "This sign-in page has expired. Start again.")
        email = (form.get("email") or "").strip()
        if not email:
            return self._respond(
                auth.redirect_uri,
                auth.response_mode,
                {
                    "error": "invalid_request",
                    "error_description": "An e-mail address is required.",
                    "state": auth.state,
                },
            )
        return self._signed_in(auth, email)

    def _signed_in(self, auth: _AuthRequest, email: str) -> Response:
        if email.lower() == ERROR_EMAIL or ("@" not in email and not _PHONE.match(email)) or len(email) > 256:
            return self._respond(
                auth.redirect_uri,
                auth.response_mode,
                {
                    "error": "access_denied",
                    "error_description": "The user or the identity provider refused the sign-in.",
                    "state": auth.state,
                },
            )
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = _Code(request=auth, email=email, created=self.clock())
        return self._respond(auth.redirect_uri, auth.response_mode, {"code": code, "state": auth.state})

    @staticmethod
    def _respond(redirect_uri: str, response_mode: str, params: dict[str, str]) -> Response:
        params = {k: v for k, v in params.items() if v}
        if response_mode == "form_post":
            fields = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in params.items())
            page = (
                "<!doctype html><html><head><title>Signing in</title></head>"
                '<body onload="document.forms[0].submit()">'
                f'<form method="post" action="{html.escape(redirect_uri)}">{fields}'
                '<noscript><button type="submit">Continue</button></noscript></form></body></html>'
            )
            return Response(
                200,
                {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"},
                page.encode(),
            )
        separator = "&" if urlsplit(redirect_uri).query else "?"
        return Response.redirect(redirect_uri + separator + urlencode(params))

    def _expire(self) -> None:
        """Drop stale codes and sign-in pages (the caller holds the lock)."""
        now = self.clock()
        for code in [c for c, v in self._codes.items() if now - v.created > CODE_TTL_SECONDS]:
            del self._codes[code]
        for key in [k for k, v in self._pending.items() if now - v.created > PENDING_TTL_SECONDS]:
            del self._pending[key]

    # --- token endpoint ----------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        form = request.form()
        try:
            client_id = self._authenticate_client(request, form)
            if form.get("grant_type") != "authorization_code":
                raise _Invalid("unsupported_grant_type", "Only grant_type=authorization_code is supported.")
            with self._lock:
                grant = self._codes.pop(form.get("code") or "", None)  # single use, even on failure
            if grant is None:
                raise _Invalid("invalid_grant", "The authorization code is unknown or was already redeemed.")
            auth = grant.request
            if self.clock() - grant.created > CODE_TTL_SECONDS:
                raise _Invalid("invalid_grant", "The authorization code has expired.")
            if auth.client_id != client_id:
                raise _Invalid("invalid_grant", "The authorization code was issued to another client.")
            if form.get("redirect_uri") != auth.redirect_uri:
                raise _Invalid("invalid_grant", "redirect_uri does not match the authorization request.")
            verifier = form.get("code_verifier") or ""
            computed = _b64url(hashlib.sha256(verifier.encode("ascii", "replace")).digest())
            if not verifier or not hmac.compare_digest(computed, auth.code_challenge):
                raise _Invalid("invalid_grant", "The PKCE code_verifier does not match the code_challenge.")
        except _Invalid as problem:
            status = 401 if problem.error == "invalid_client" else 400
            return Response.json(
                {"error": problem.error, "error_description": problem.description},
                status,
                {"Cache-Control": "no-store"},
            )
        tenant_id = self.issue_tenant_override or self.tenant_id
        oid = stable_oid(grant.email)
        id_token = self.id_token(request.base_url, auth, grant.email, tenant_id)
        client_info = _b64url(json.dumps({"uid": oid, "utid": tenant_id}).encode())
        return Response.json(
            {
                "token_type": "Bearer",
                "scope": SCOPE,
                "expires_in": TOKEN_TTL_SECONDS,
                "ext_expires_in": TOKEN_TTL_SECONDS,
                "access_token": secrets.token_urlsafe(48),
                "id_token": id_token,
                "client_info": client_info,
            },
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    def _authenticate_client(self, request: Request, form: dict[str, str]) -> str:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        authorization = request.headers.get("authorization") or ""
        if authorization[:6].lower() == "basic ":
            try:
                decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                raise _Invalid("invalid_client", "Malformed client credentials.") from None
            basic_id, _, basic_secret = decoded.partition(":")
            client_id, secret = unquote(basic_id), unquote(basic_secret)
        if not client_id or not secret:
            raise _Invalid("invalid_client", "Client authentication is required.")
        if not (
            hmac.compare_digest(client_id.encode(), self.client_id.encode())
            and hmac.compare_digest(secret.encode(), self.client_secret.encode())
        ):
            raise _Invalid("invalid_client", "The client_id or client_secret is not valid.")
        return client_id

    def id_token(self, base_url: str, auth: _AuthRequest, email: str, tenant_id: str) -> str:
        now = int(self.clock())
        local = email.split("@", 1)[0]
        claims = {
            "ver": "2.0",
            "iss": self.issuer(base_url, tenant_id),
            "sub": _b64url(hashlib.sha256(f"{auth.client_id}\n{email.strip().lower()}".encode()).digest()),
            "aud": auth.client_id,
            "exp": now + TOKEN_TTL_SECONDS,
            "iat": now,
            "nbf": now,
            "nonce": auth.nonce,
            "name": local.replace(".", " ").title() or email,
            "preferred_username": email,
            "oid": stable_oid(email),
            "tid": tenant_id,
        }
        if "email" in auth.scope.split() and "@" in email and not self.omit_email:
            claims["email"] = email
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self._kid, "typ": "JWT"})


def _sign_in_page(action: str, pending_id: str) -> Response:
    page = (
        "<!doctype html><html><head>"
        "<title>Sign in - Microsoft account (local stand-in)</title></head><body><h1>Sign in</h1>"
        "<p>Local stand-in for personal Microsoft accounts: any address works.</p>"
        f'<form method="post" action="{html.escape(action)}">'
        f'<input type="hidden" name="request" value="{html.escape(pending_id)}">'
        '<label>E-mail <input type="email" name="email" required autofocus></label> '
        '<button type="submit">Sign in</button></form></body></html>'
    )
    return Response(
        200,
        {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"},
        page.encode(),
    )


def _error_page(error: str, description: str) -> Response:
    body = f"<!doctype html><html><body><h1>{html.escape(error)}</h1><p>{html.escape(description)}</p></body></html>"
    return Response(400, {"Content-Type": "text/html; charset=utf-8"}, body.encode())
