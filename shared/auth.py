"""Bearer-token validation (Entra ID v1 and v2 access tokens) and the authorisation rules of API.md.

One code path everywhere: PyJWT checks the RS256 signature against the issuer's JWKS (the
key set cached for a bounded lifetime, so a key Entra removes stops being trusted), the
issuer that matches the token's ``ver`` for its tenant (v1 ``https://sts.windows.net/{tid}/``,
v2 ``https://login.microsoftonline.com/{tid}/v2.0``), ``aud`` (the API's client id, which v2
tokens carry, or its App ID URI, which v1 tokens carry), ``exp``/``nbf`` with 60 s leeway and a
GUID ``tid``. Locally the JWKS and issuers point at the local host's token stand-in.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jwt import PyJWKClient

from shared.errors import Forbidden, NotFound, ServiceUnavailable, Unauthorized

ROLE_ADMIN = "Partner.Admin"
ROLE_OPERATOR = "Program.Operator"
ROLE_FEED = "Program.Feed"
PROGRAM_ROLES = frozenset({ROLE_OPERATOR, ROLE_FEED})

_TENANT_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")  # always fullmatch
LEEWAY_SECONDS = 60
V1_ISSUER = "https://sts.windows.net/{tid}/"


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    object_id: str
    roles: frozenset[str] = field(default_factory=frozenset)
    upn: str | None = None
    name: str | None = None

    def has(self, role: str) -> bool:
        return role in self.roles

    @property
    def actor(self) -> str:
        """Who did it, for audit trails: the user name, else tenant and object id."""
        return self.upn or f"{self.tenant_id}/{self.object_id}"


class TokenValidator:
    def __init__(
        self,
        *,
        jwks_url: str,
        issuer_template: str,
        audience: str | None,
        client_id: str | None = None,
        issuer_v1_template: str = V1_ISSUER,
        program_tenant_id: str | None = None,
        jwks_lifetime: float = 3600.0,
    ) -> None:
        self._jwks_url = jwks_url
        self._issuers = {"2.0": issuer_template, "1.0": issuer_v1_template}
        self._audiences = [a for a in (client_id, audience) if a]
        if not self._audiences:
            raise ValueError("a client id or an App ID URI is required")
        self._program_tenant_id = program_tenant_id
        self._jwks_lifetime = jwks_lifetime
        self._jwks_client: PyJWKClient | None = None
        self._lock = threading.Lock()

    def _keys(self) -> PyJWKClient:
        if self._jwks_client is None:
            with self._lock:
                if self._jwks_client is None:
                    from jwt import PyJWKClient

                    # The key set is cached for a lifetime, never key by key forever: a key the
                    # issuer drops stops being trusted when the set is next fetched; an unknown
                    # kid triggers one refetch (key rollover).
                    self._jwks_client = PyJWKClient(
                        self._jwks_url, cache_keys=False, cache_jwk_set=True, lifespan=self._jwks_lifetime, timeout=10
                    )
        return self._jwks_client

    def validate(self, authorization: str | None) -> Caller:
        import jwt

        if not authorization:
            raise Unauthorized("An Authorization: Bearer token is required.", headers={"WWW-Authenticate": "Bearer"})
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("The Authorization header must be 'Bearer <token>'.")
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != "RS256":
                raise Unauthorized("The token must be signed with RS256.")
            unverified = jwt.decode(token, options={"verify_signature": False})
            tenant_id = unverified.get("tid")
            if not isinstance(tenant_id, str) or not _TENANT_ID.fullmatch(tenant_id):
                raise Unauthorized("The token has no valid tenant (tid) claim.")
            issuer_template = self._issuers.get(str(unverified.get("ver")))
            if issuer_template is None:
                raise Unauthorized("The token is neither a v1.0 nor a v2.0 access token (ver).")
            signing_key = self._keys().get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key=signing_key.key,
                algorithms=["RS256"],
                audience=self._audiences,
                issuer=issuer_template.format(tid=tenant_id),
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud", "tid", "ver"]},
            )
        except jwt.PyJWKClientConnectionError:
            raise ServiceUnavailable("The token signing keys cannot be fetched right now; retry shortly.") from None
        except jwt.ExpiredSignatureError:
            raise Unauthorized("The token has expired.") from None
        except jwt.ImmatureSignatureError:
            raise Unauthorized("The token is not valid yet.") from None
        except jwt.InvalidAudienceError:
            raise Unauthorized("The token was issued for another audience.") from None
        except jwt.InvalidIssuerError:
            raise Unauthorized("The token was issued by an unexpected issuer.") from None
        except (jwt.PyJWTError, ValueError, KeyError):
            raise Unauthorized("The token is not valid.") from None
        roles = claims.get("roles") or []
        if not isinstance(roles, list):
            roles = []
        role_set = frozenset(r for r in roles if isinstance(r, str))
        if self._program_tenant_id and tenant_id != self._program_tenant_id:
            # Any tenant can assign app roles in its own directory: program roles count only
            # from the program's own tenant.
            role_set = role_set - PROGRAM_ROLES
        object_id = claims.get("oid") or claims.get("sub")
        if not isinstance(object_id, str) or not object_id:
            raise Unauthorized("The token has no subject (oid) claim.")
        return Caller(
            tenant_id=tenant_id,
            object_id=object_id,
            roles=role_set,
            upn=claims.get("preferred_username") or claims.get("upn") or claims.get("unique_name"),
            name=claims.get("name"),
        )


class Scope(Enum):
    PUBLIC = "public"  # no token (health, OpenAPI, the MSA callback bound to its state)
    AUTHENTICATED = "authenticated"  # any valid token
    PROGRAM = "program"  # program roles only, not tied to a partner
    PARTNER = "partner"  # the partner named by {partnerId}
    OWN_PARTNER = "own-partner"  # the partner whose tenant the caller belongs to (/me)


@dataclass(frozen=True)
class Rule:
    """Who may call an operation; attached to each route at registration."""

    scope: Scope
    roles: frozenset[str] = frozenset()  # program roles that grant access
    admin: bool = False  # a Partner.Admin of the partner may call it
    members: bool = False  # any user of the partner may call it

    @property
    def needs_token(self) -> bool:
        return self.scope is not Scope.PUBLIC

    def describe(self) -> str:
        who = []
        if self.scope is Scope.PUBLIC:
            return "anonymous"
        if self.scope is Scope.AUTHENTICATED:
            return "any authenticated caller"
        if self.members:
            who.append("members of the partner")
        if self.admin:
            who.append(ROLE_ADMIN + " of the partner")
        who.extend(sorted(self.roles))
        return ", ".join(who)


PUBLIC = Rule(Scope.PUBLIC)
AUTHENTICATED = Rule(Scope.AUTHENTICATED)


def program(*roles: str) -> Rule:
    return Rule(Scope.PROGRAM, roles=frozenset(roles))


def partner(*, admin: bool = False, members: bool = False, roles: tuple[str, ...] = ()) -> Rule:
    return Rule(Scope.PARTNER, roles=frozenset(roles), admin=admin or members, members=members)


OWN_PARTNER = Rule(Scope.OWN_PARTNER, members=True, admin=True)

PartnerLoader = Callable[[str], dict[str, Any] | None]


def authorize(
    rule: Rule,
    caller: Caller | None,
    *,
    partner_id: str | None,
    load_partner: PartnerLoader,
    load_partner_by_tenant: PartnerLoader,
) -> dict[str, Any] | None:
    """Apply API.md's rules; return the partner document the operation is about, if any.

    Order matters: 401 before anything, then 404 for a partner the caller cannot see (never
    revealing whether it exists), then 403 for a visible partner without the needed role.
    """
    if rule.scope is Scope.PUBLIC:
        return None
    if caller is None:
        raise Unauthorized("An Authorization: Bearer token is required.", headers={"WWW-Authenticate": "Bearer"})
    if rule.scope is Scope.AUTHENTICATED:
        return None
    program_role = bool(rule.roles & caller.roles)
    if rule.scope is Scope.PROGRAM:
        if not program_role:
            raise Forbidden("This operation needs the role " + " or ".join(sorted(rule.roles)) + ".")
        return None
    if rule.scope is Scope.OWN_PARTNER:
        own = load_partner_by_tenant(caller.tenant_id)
        if own is None:
            raise Forbidden("Your organisation is not registered as a partner.")
        return own
    assert partner_id is not None, "a partner-scoped route needs {partnerId}"
    doc = load_partner(partner_id)
    member = doc is not None and doc.get("tenantId") == caller.tenant_id
    if program_role:
        if doc is None:
            raise NotFound(f"Partner '{partner_id}' was not found.")
        return doc
    if not member:
        if caller.roles & PROGRAM_ROLES and doc is not None:
            raise Forbidden("Your program role does not allow this operation.")
        raise NotFound(f"Partner '{partner_id}' was not found.")
    if rule.members:
        return doc
    if rule.admin and caller.has(ROLE_ADMIN):
        return doc
    raise Forbidden(f"This operation needs the role {ROLE_ADMIN}.")
