"""Entra access tokens v1.0 and v2.0: which audience and issuer each may carry, the tenant id
they must name, and how long fetched signing keys stay trusted."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from devhost.entra import (
    API_CLIENT_ID,
    AUDIENCE,
    PORTAL_CLIENT_ID,
    EntraStandIn,
    TokenIssuer,
    issuer_template,
    issuer_v1_template,
    jwks_url,
)
from devhost.standin import base_url_of, make_server, serve_in_thread
from shared.auth import ROLE_ADMIN, ROLE_FEED, TokenValidator
from shared.errors import Unauthorized

TID = "5f0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EntraStandIn, str]]:
    standin = EntraStandIn(TokenIssuer(tmp_path_factory.mktemp("entra") / "key.pem"))
    server = make_server([standin])
    serve_in_thread(server)
    yield standin, base_url_of(server, host="127.0.0.1")
    server.shutdown()


def validator(base: str, **kwargs) -> TokenValidator:
    options = {"audience": AUDIENCE, "client_id": API_CLIENT_ID, **kwargs}
    return TokenValidator(
        jwks_url=jwks_url(base), issuer_template=issuer_template(base), issuer_v1_template=issuer_v1_template(base), **options
    )


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_the_stand_in_mints_v2_tokens_shaped_as_entra_does(site) -> None:
    standin, base = site
    user = standin.issuer.mint(base_url=base, tenant_id=TID, user_id="u", upn="ada@contoso.example", roles=[ROLE_ADMIN])
    claims = claims_of(user)
    assert claims["ver"] == "2.0"
    assert claims["aud"] == API_CLIENT_ID
    assert claims["iss"] == issuer_template(base).format(tid=TID)
    assert claims["azp"] == PORTAL_CLIENT_ID and claims["azpacr"] == "0"
    assert claims["scp"] == "access_as_user" and claims["roles"] == [ROLE_ADMIN]
    assert claims["preferred_username"] == "ada@contoso.example"
    assert "appid" not in claims and "upn" not in claims
    app = claims_of(standin.issuer.mint(base_url=base, tenant_id=TID, roles=[ROLE_FEED], app_only=True))
    assert "scp" not in app and app["roles"] == [ROLE_FEED] and app["azpacr"] == "1"


def test_the_stand_in_mints_v1_tokens_shaped_as_entra_does(site) -> None:
    standin, base = site
    claims = claims_of(standin.issuer.mint(base_url=base, tenant_id=TID, user_id="u", upn="ada@contoso.example", version="1.0"))
    assert claims["ver"] == "1.0"
    assert claims["aud"] == AUDIENCE
    assert claims["iss"] == issuer_v1_template(base).format(tid=TID)
    assert claims["appid"] == PORTAL_CLIENT_ID and claims["appidacr"] == "0"
    assert claims["upn"] == claims["unique_name"] == "ada@contoso.example"
    assert "azp" not in claims and "preferred_username" not in claims


@pytest.mark.parametrize(
    ("version", "audience"),
    [("2.0", API_CLIENT_ID), ("2.0", AUDIENCE), ("1.0", AUDIENCE), ("1.0", API_CLIENT_ID)],
)
def test_accepted_versions_and_audiences(site, version, audience) -> None:
    standin, base = site
    token = standin.issuer.mint(base_url=base, tenant_id=TID, user_id="u1", upn="ada@contoso.example", version=version, audience=audience)
    caller = validator(base).validate("Bearer " + token)
    assert (caller.tenant_id, caller.object_id, caller.upn) == (TID, "u1", "ada@contoso.example")


def test_a_v2_token_is_accepted_with_only_the_client_id_configured(site) -> None:
    standin, base = site
    token = standin.issuer.mint(base_url=base, tenant_id=TID)
    assert validator(base, audience=None).validate("Bearer " + token).tenant_id == TID


@pytest.mark.parametrize(
    ("version", "extra", "detail"),
    [
        # the issuer must be the one of the token's own version
        ("2.0", {"iss": "{v1}"}, "unexpected issuer"),
        ("1.0", {"iss": "{v2}"}, "unexpected issuer"),
        # Entra's real issuers are not the configured ones
        ("2.0", {"iss": f"https://login.microsoftonline.com/{TID}/v2.0"}, "unexpected issuer"),
        # an audience that is neither the client id nor the App ID URI
        ("2.0", {"aud": "00000000-0000-0000-0000-000000000bad"}, "another audience"),
        ("1.0", {"aud": "api://someone-else"}, "another audience"),
        ("2.0", {"aud": "https://graph.microsoft.com"}, "another audience"),
        # no version, or one Entra does not issue
        ("2.0", {"ver": None}, "neither a v1.0 nor a v2.0"),
        ("2.0", {"ver": "3.0"}, "neither a v1.0 nor a v2.0"),
    ],
)
def test_rejected_combinations(site, version, extra, detail) -> None:
    standin, base = site
    values = {
        k: (v.format(v1=issuer_v1_template(base).format(tid=TID), v2=issuer_template(base).format(tid=TID)) if isinstance(v, str) else v)
        for k, v in extra.items()
    }
    token = standin.issuer.mint(base_url=base, tenant_id=TID, version=version, extra=values)
    if values.get("ver", "") is None:
        claims = claims_of(token)
        claims.pop("ver")
        token = jwt.encode(claims, standin.issuer._key, algorithm="RS256", headers={"kid": standin.issuer.kid})
    with pytest.raises(Unauthorized, match=detail):
        validator(base).validate("Bearer " + token)


@pytest.mark.parametrize("tid", ["contoso-tid", "common", "", "5f0b1c2d3e4f4a5b8c6d7e8f9a0b1c2d", TID + "x", "../" + TID])
def test_a_tenant_id_that_is_not_a_guid_is_refused(site, tid) -> None:
    standin, base = site
    token = standin.issuer.mint(base_url=base, tenant_id=tid)
    with pytest.raises(Unauthorized, match="tenant"):
        validator(base).validate("Bearer " + token)


def test_a_key_the_issuer_drops_stops_being_trusted_after_the_lifetime(site, tmp_path: Path) -> None:
    standin, base = site
    old_token = standin.issuer.mint(base_url=base, tenant_id=TID)
    checker = validator(base, jwks_lifetime=0.3)
    assert checker.validate("Bearer " + old_token).tenant_id == TID
    original = standin.issuer
    standin.issuer = TokenIssuer(tmp_path / "rolled.pem")  # the key set now holds only the new key
    try:
        assert checker.validate("Bearer " + old_token).tenant_id == TID  # within the lifetime: cached
        time.sleep(0.4)
        with pytest.raises(Unauthorized):
            checker.validate("Bearer " + old_token)
        new_token = standin.issuer.mint(base_url=base, tenant_id=TID)
        assert checker.validate("Bearer " + new_token).tenant_id == TID
    finally:
        standin.issuer = original
