"""Entra ID token issuer stand-in: OpenID metadata, JWKS (RS256) and a development mint.

The app validates these tokens with exactly the production code (PyJWT + JWKS); only the
issuer template and JWKS URL settings point here. The signing key lives in the data folder
so that tokens survive a restart of the local host.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from devhost.standin import Request, Response, local_only

PREFIX = "/_dev/entra"
AUDIENCE = "api://competency-suite"  # the API's App ID URI: the aud of v1 tokens
API_CLIENT_ID = "00000000-0000-0000-0000-0000000a9100"  # the API's client id: the aud of v2 tokens
PORTAL_CLIENT_ID = "00000000-0000-0000-0000-00000000b0a1"  # the calling app (azp / appid)
TOKEN_LIFETIME_SECONDS = 3600
DELEGATED_SCOPE = "access_as_user"


def issuer_template(base_url: str) -> str:
    """Where v2.0 tokens come from (Entra: https://login.microsoftonline.com/{tid}/v2.0)."""
    return f"{base_url}{PREFIX}/{{tid}}/v2.0"


def issuer_v1_template(base_url: str) -> str:
    """Where v1.0 tokens come from (Entra: https://sts.windows.net/{tid}/)."""
    return f"{base_url}{PREFIX}/sts/{{tid}}/"


def jwks_url(base_url: str) -> str:
    return f"{base_url}{PREFIX}/discovery/v2.0/keys"


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class TokenIssuer:
    """Signs access tokens shaped as Entra ID mints them, v1.0 or v2.0.

    v2.0: ``ver`` "2.0", ``iss`` …/{tid}/v2.0, ``aud`` the API's client id, ``azp``/``azpacr``,
    ``preferred_username``. v1.0: ``ver`` "1.0", ``iss`` sts…/{tid}/, ``aud`` the App ID URI,
    ``appid``/``appidacr``, ``upn``/``unique_name``. A user's (delegated) token carries ``scp``
    and the user's app ``roles``; an application's token (``app_only``) only ``roles``.
    """

    def __init__(self, key_path: Path) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        if key_path.exists():
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        else:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            key_path.parent.mkdir(parents=True, exist_ok=True)
            key_path.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            key_path.chmod(0o600)
        assert isinstance(key, rsa.RSAPrivateKey)
        self._key = key
        numbers = key.public_key().public_numbers()
        self.kid = uuid.uuid5(uuid.NAMESPACE_URL, str(numbers.n)).hex[:16]
        self._jwk = {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": _b64url_uint(numbers.n),
            "e": _b64url_uint(numbers.e),
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self._jwk]}

    def mint(
        self,
        *,
        base_url: str,
        tenant_id: str,
        user_id: str | None = None,
        upn: str | None = None,
        roles: Iterable[str] = (),
        audience: str | None = None,
        version: str = "2.0",
        app_only: bool = False,
        scopes: Iterable[str] = (DELEGATED_SCOPE,),
        client_app_id: str = PORTAL_CLIENT_ID,
        lifetime: int = TOKEN_LIFETIME_SECONDS,
        extra: dict[str, Any] | None = None,
    ) -> str:
        import jwt

        if version not in ("1.0", "2.0"):
            raise ValueError("version must be 1.0 or 2.0")
        now = int(time.time())
        subject = user_id or str(uuid.uuid4())
        v2 = version == "2.0"
        claims: dict[str, Any] = {
            "aud": audience or (API_CLIENT_ID if v2 else AUDIENCE),
            "iss": (issuer_template(base_url) if v2 else issuer_v1_template(base_url)).format(tid=tenant_id),
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "tid": tenant_id,
            "oid": subject,
            "sub": subject,
            "uti": uuid.uuid4().hex[:22],
            "ver": version,
        }
        if v2:
            claims.update(azp=client_app_id, azpacr="1" if app_only else "0")
        else:
            claims.update(appid=client_app_id, appidacr="1" if app_only else "0")
        if not app_only:
            claims["scp"] = " ".join(scopes)
            if upn:
                claims.update({"preferred_username": upn} if v2 else {"upn": upn, "unique_name": upn})
        role_list = [r for r in roles if r]
        if role_list:
            claims["roles"] = role_list
        claims.update(extra or {})
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid, "typ": "JWT"})


class EntraStandIn:
    prefix = PREFIX

    def __init__(self, issuer: TokenIssuer) -> None:
        self.issuer = issuer

    def handle(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        if request.method == "GET" and request.path == "/discovery/v2.0/keys":
            return Response.json(self.issuer.jwks(), headers={"Cache-Control": "max-age=300"})
        if request.method == "GET" and len(parts) == 4 and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            base = request.base_url
            return Response.json(
                {
                    "issuer": issuer_template(base).format(tid=parts[0]),
                    "jwks_uri": jwks_url(base),
                    "token_endpoint": f"{base}{PREFIX}/token",
                    "id_token_signing_alg_values_supported": ["RS256"],
                }
            )
        if request.method == "POST" and request.path == "/token":
            # The development mint: for whoever sits at this machine, whatever address the host binds.
            refused = local_only(request, json_body=True)
            if refused is not None:
                return refused
            try:
                body = json.loads(request.body or b"{}")
                token = self.issuer.mint(
                    base_url=request.base_url,
                    tenant_id=str(body["tenant"]),
                    user_id=body.get("user"),
                    upn=body.get("upn"),
                    roles=body.get("roles") or [],
                    audience=body.get("audience"),
                    version=str(body.get("version") or "2.0"),
                    app_only=bool(body.get("appOnly")),
                    lifetime=int(body.get("lifetime") or TOKEN_LIFETIME_SECONDS),
                )
            except (KeyError, ValueError, TypeError) as exc:
                return Response.json({"error": "invalid_request", "error_description": str(exc)}, 400)
            return Response.json({"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME_SECONDS})
        return Response.json({"error": "not_found"}, 404)
