"""Bearer tokens are real RS256 JWTs checked against a JWKS served over HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.entra import API_CLIENT_ID, AUDIENCE, EntraStandIn, TokenIssuer, issuer_template, issuer_v1_template, jwks_url
from devhost.standin import base_url_of, make_server, serve_in_thread
from shared.auth import (
    AUTHENTICATED,
    OWN_PARTNER,
    ROLE_ADMIN,
    ROLE_FEED,
    ROLE_OPERATOR,
    Caller,
    TokenValidator,
    authorize,
    partner,
    program,
)
from shared.errors import Forbidden, NotFound, ServiceUnavailable, Unauthorized


@pytest.fixture(scope="module")
def issuer_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TokenIssuer, str]]:
    issuer = TokenIssuer(Path(tmp_path_factory.mktemp("entra")) / "key.pem")
    server = make_server([EntraStandIn(issuer)])
    serve_in_thread(server)
    yield issuer, base_url_of(server, host="127.0.0.1")
    server.shutdown()


T1 = "11111111-1111-4111-8111-111111111111"
T2 = "22222222-2222-4222-8222-222222222222"
PROGRAM = "33333333-3333-4333-8333-333333333333"


def validator(base: str, **kwargs: object) -> TokenValidator:
    options: dict = {"audience": AUDIENCE, "client_id": API_CLIENT_ID, **kwargs}
    return TokenValidator(
        jwks_url=jwks_url(base),
        issuer_template=issuer_template(base),
        issuer_v1_template=issuer_v1_template(base),
        **options,
    )


def bearer(token: str) -> str:
    return "Bearer " + token


def test_a_valid_token_gives_the_caller(issuer_site) -> None:
    issuer, base = issuer_site
    token = issuer.mint(base_url=base, tenant_id=T1, user_id="u1", roles=[ROLE_ADMIN], upn="a@t1.example")
    caller = validator(base).validate(bearer(token))
    assert caller == Caller(tenant_id=T1, object_id="u1", roles=frozenset({ROLE_ADMIN}), upn="a@t1.example")


@pytest.mark.parametrize(
    ("claims", "detail"),
    [
        ({"exp": -120}, "expired"),  # seconds from now, taken when the test runs
        ({"nbf": 300}, "not valid yet"),
        ({"aud": "api://someone-else"}, "another audience"),
        ({"iss": f"https://evil.example/{T1}/v2.0"}, "unexpected issuer"),
    ],
)
def test_bad_claims_are_401(issuer_site, claims, detail) -> None:
    issuer, base = issuer_site
    claims = {k: int(time.time()) + v if k in ("exp", "nbf") else v for k, v in claims.items()}
    token = issuer.mint(base_url=base, tenant_id=T1, extra=claims)
    with pytest.raises(Unauthorized, match=detail):
        validator(base).validate(bearer(token))


def test_a_tenant_id_with_a_trailing_newline_is_401(issuer_site) -> None:
    issuer, base = issuer_site
    token = issuer.mint(base_url=base, tenant_id="t1\n")  # signed, with a matching issuer
    with pytest.raises(Unauthorized, match="tenant"):
        validator(base).validate(bearer(token))


def test_clock_skew_within_60_seconds_is_tolerated(issuer_site) -> None:
    issuer, base = issuer_site
    token = issuer.mint(base_url=base, tenant_id=T1, extra={"exp": int(time.time()) - 30})
    assert validator(base).validate(bearer(token)).tenant_id == T1


def test_issuer_must_match_the_tokens_own_tenant(issuer_site) -> None:
    issuer, base = issuer_site
    token = issuer.mint(base_url=base, tenant_id=T1, extra={"iss": issuer_template(base).format(tid=T2)})
    with pytest.raises(Unauthorized):
        validator(base).validate(bearer(token))


def test_tampered_signature_alg_none_and_hs256_confusion_are_401(issuer_site) -> None:
    issuer, base = issuer_site
    token = issuer.mint(base_url=base, tenant_id=T1, roles=["Partner.Admin"])
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["roles"] = [ROLE_OPERATOR]
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    tampered = f"{head}.{forged_payload}.{signature}"
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    alg_none = f"{none_header}.{forged_payload}."
    # Algorithm confusion: an HS256 token keyed with the public key material.
    hs_header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
    public_jwk = json.dumps(issuer.jwks()["keys"][0]).encode()
    mac = hmac.new(public_jwk, f"{hs_header}.{forged_payload}".encode(), hashlib.sha256).digest()
    hs256 = f"{hs_header}.{forged_payload}." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    for bad in (tampered, alg_none, hs256, "not-a-jwt", ""):
        with pytest.raises(Unauthorized):
            validator(base).validate(bearer(bad))
    with pytest.raises(Unauthorized):
        validator(base).validate("Basic dXNlcjpwYXNz")
    with pytest.raises(Unauthorized):
        validator(base).validate(None)


def test_a_token_from_another_signing_key_is_401(issuer_site, tmp_path) -> None:
    _, base = issuer_site
    stranger = TokenIssuer(tmp_path / "other.pem")
    with pytest.raises(Unauthorized):
        validator(base).validate(bearer(stranger.mint(base_url=base, tenant_id=T1)))


def test_program_roles_count_only_from_the_program_tenant(issuer_site) -> None:
    issuer, base = issuer_site
    strict = validator(base, program_tenant_id=PROGRAM)
    partner_token = issuer.mint(base_url=base, tenant_id=T2, roles=[ROLE_OPERATOR, ROLE_ADMIN])
    assert strict.validate(bearer(partner_token)).roles == frozenset({ROLE_ADMIN})
    program_token = issuer.mint(base_url=base, tenant_id=PROGRAM, roles=[ROLE_OPERATOR])
    assert strict.validate(bearer(program_token)).roles == frozenset({ROLE_OPERATOR})


def test_unreachable_jwks_is_503_not_401(issuer_site) -> None:
    issuer, base = issuer_site
    token = issuer.mint(base_url=base, tenant_id=T1)
    broken = TokenValidator(
        jwks_url="http://127.0.0.1:9/keys", issuer_template=issuer_template(base), audience=AUDIENCE, client_id=API_CLIENT_ID
    )
    with pytest.raises(ServiceUnavailable):
        broken.validate(bearer(token))


# --- the authorisation rules of API.md ---------------------------------------------------------

PARTNER_DOC = {"partnerId": "p1", "tenantId": "t1"}


def load(partner_id: str):
    return PARTNER_DOC if partner_id == "p1" else None


def load_by_tenant(tenant_id: str):
    return PARTNER_DOC if tenant_id == "t1" else None


def caller(tenant: str, *roles: str) -> Caller:
    return Caller(tenant_id=tenant, object_id="u", roles=frozenset(roles))


ADMIN_RULE = partner(admin=True)
MEMBER_RULE = partner(members=True, roles=(ROLE_OPERATOR,))
FEED_RULE = partner(roles=(ROLE_FEED,))

CASES = [
    # rule, caller, partner id, expected (None = allowed, else the error)
    (ADMIN_RULE, caller("t1", ROLE_ADMIN), "p1", None),
    (ADMIN_RULE, caller("t1"), "p1", Forbidden),
    (ADMIN_RULE, caller("t2", ROLE_ADMIN), "p1", NotFound),
    (ADMIN_RULE, caller("t1", ROLE_ADMIN), "p2", NotFound),
    (ADMIN_RULE, caller("ops", ROLE_OPERATOR), "p1", Forbidden),
    (ADMIN_RULE, caller("ops", ROLE_OPERATOR), "p2", NotFound),
    (MEMBER_RULE, caller("t1"), "p1", None),
    (MEMBER_RULE, caller("t2"), "p1", NotFound),
    (MEMBER_RULE, caller("ops", ROLE_OPERATOR), "p1", None),
    (MEMBER_RULE, caller("ops", ROLE_OPERATOR), "p2", NotFound),
    (FEED_RULE, caller("feed", ROLE_FEED), "p1", None),
    (FEED_RULE, caller("t1", ROLE_ADMIN), "p1", Forbidden),
    (FEED_RULE, caller("t2"), "p1", NotFound),
    (program(ROLE_OPERATOR), caller("t1", ROLE_ADMIN), None, Forbidden),
    (program(ROLE_OPERATOR), caller("ops", ROLE_OPERATOR), None, None),
    (AUTHENTICATED, caller("anyone"), None, None),
    (OWN_PARTNER, caller("t1"), None, None),
    (OWN_PARTNER, caller("unregistered"), None, Forbidden),
]


@pytest.mark.parametrize(("rule", "who", "partner_id", "expected"), CASES)
def test_authorisation_rules(rule, who, partner_id, expected) -> None:
    def run():
        return authorize(rule, who, partner_id=partner_id, load_partner=load, load_partner_by_tenant=load_by_tenant)

    if expected is None:
        result = run()
        if rule in (ADMIN_RULE, MEMBER_RULE, FEED_RULE, OWN_PARTNER):
            assert result == PARTNER_DOC
    else:
        with pytest.raises(expected):
            run()


def test_no_caller_is_401_for_every_guarded_rule() -> None:
    for rule in (AUTHENTICATED, OWN_PARTNER, ADMIN_RULE, program(ROLE_OPERATOR)):
        with pytest.raises(Unauthorized):
            authorize(rule, None, partner_id="p1", load_partner=load, load_partner_by_tenant=load_by_tenant)
