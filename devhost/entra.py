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
AUDIENCE = "api://competency-suite"
TOKEN_LIFETIME_SECONDS = 3600


def issuer_template(base_url: str) -> str:
    return f"{base_url}{PREFIX}/{{tid}}/v2.0"


def jwks_url(base_url: str) -> str:
    return f"{base_url}{PREFIX}/discovery/v2.0/keys"


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class TokenIssuer:
    """Signs access tokens the way Entra ID v2 shapes them (``iss``, ``aud``, ``tid``, ``oid``, ``roles``)."""

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
        audience: str = AUDIENCE,
        lifetime: int = TOKEN_LIFETIME_SECONDS,
        extra: dict[str, Any] | None = None,
    ) -> str:
        import jwt

        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": issuer_template(base_url).format(tid=tenant_id),
            "aud": audience,
            "tid": tenant_id,
            "oid": user_id or str(uuid.uuid4()),
            "sub": user_id or str(uuid.uuid4()),
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "ver": "2.0",
        }
        if upn:
            claims["preferred_username"] = upn
        role_list = [r for r in roles if r]
        if role_list:
            claims["roles"] = role_list
        claims.update(extra or {})
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})


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
                    audience=body.get("audience") or AUDIENCE,
                    lifetime=int(body.get("lifetime") or TOKEN_LIFETIME_SECONDS),
                )
            except (KeyError, ValueError, TypeError) as exc:
                return Response.json({"error": "invalid_request", "error_description": str(exc)}, 400)
            return Response.json({"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME_SECONDS})
        return Response.json({"error": "not_found"}, 404)
