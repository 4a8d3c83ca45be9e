"""The MSAL adapter against the MSA stand-in over real HTTPS: the whole auth code flow."""

from __future__ import annotations

import re
import ssl
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from devhost.msa import CONSUMERS_TENANT_ID, MsaStandIn, _AuthRequest, stable_oid
from devhost.standin import make_server, serve_in_thread
from devhost.tls import TlsPaths, ensure_certificates
from shared.adapters.msa_signin import MsalSignIn
from shared.ports import Identity, SignInError

CLIENT_ID = "00000000-0000-0000-0000-00000000c1d0"
SECRET = "stand-in-secret-for-tests"
REDIRECT_URI = "http://localhost:7071/api/msa/callback"

# The adapter keeps MSAL's default response_mode (query); MSAL warns about it on every start.
pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended")


@dataclass
class Provider:
    stand_in: MsaStandIn
    base_url: str
    authority: str
    tls: TlsPaths

    def sign_in(self, **kwargs: object) -> MsalSignIn:
        options: dict[str, object] = {
            "redirect_uri": REDIRECT_URI,
            "expected_tenant_id": self.stand_in.tenant_id,
            "verify": str(self.tls.ca),
        }
        options.update(kwargs)
        return MsalSignIn(self.authority, CLIENT_ID, SECRET, **options)  # type: ignore[arg-type]

    def browser(self) -> httpx.Client:
        return httpx.Client(
            verify=ssl.create_default_context(cafile=str(self.tls.ca)),
            follow_redirects=False,
            timeout=10,
        )


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    tls = ensure_certificates(tmp_path_factory.mktemp("tls"))
    stand_in = MsaStandIn(client_id=CLIENT_ID, client_secret=SECRET)
    server = make_server([stand_in], host="127.0.0.1", port=0, tls_cert=tls.cert, tls_key=tls.key)
    serve_in_thread(server)
    base_url = f"https://localhost:{server.server_address[1]}"
    try:
        yield Provider(stand_in, base_url, f"{base_url}/consumers", tls)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def _reset(provider: Provider) -> Iterator[None]:
    provider.stand_in.issue_tenant_override = None
    yield
    provider.stand_in.issue_tenant_override = None


def callback_params(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    return {k: v[-1] for k, v in parse_qs(urlsplit(location).query).items()}


def authorize(provider: Provider, email: str) -> tuple[MsalSignIn, dict, dict[str, str]]:
    sign_in = provider.sign_in()
    url, flow = sign_in.start(login_hint=email)
    assert url.startswith(provider.authority + "/oauth2/v2.0/authorize?")
    assert parse_qs(urlsplit(url).query)["prompt"] == ["select_account"]  # never a silent sign-in, hint or not
    with provider.browser() as browser:
        params = callback_params(browser.get(url))
    assert params["state"] == flow["state"]
    assert params["code"]
    return sign_in, flow, params


def sign_in_as(provider: Provider, email: str) -> Identity:
    sign_in, flow, params = authorize(provider, email)
    return sign_in.finish(flow, params)


# --- certificates ------------------------------------------------------------------------


def test_certificates_are_created_once_and_keys_are_private(tmp_path: Path) -> None:
    first = ensure_certificates(tmp_path)
    stamp = first.cert.read_bytes()
    second = ensure_certificates(tmp_path)
    assert second == first
    assert second.cert.read_bytes() == stamp
    assert stat.S_IMODE(first.key.stat().st_mode) == 0o600
    for path in tmp_path.glob("*key*.pem"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_discovery_and_keys_are_served(provider: Provider) -> None:
    with provider.browser() as browser:
        config = browser.get(provider.authority + "/v2.0/.well-known/openid-configuration").json()
        keys = browser.get(config["jwks_uri"]).json()
    assert config["issuer"] == f"{provider.base_url}/{CONSUMERS_TENANT_ID}/v2.0"
    assert config["authorization_endpoint"] == provider.authority + "/oauth2/v2.0/authorize"
    assert config["token_endpoint"] == provider.authority + "/oauth2/v2.0/token"
    assert keys["keys"][0]["kid"] and keys["keys"][0]["kty"] == "RSA"


def test_untrusted_certificate_is_refused(provider: Provider) -> None:
    with pytest.raises(Exception):  # noqa: B017 - requests' SSLError, wrapped or not
        provider.sign_in(verify=True).start(login_hint="alice@example.com")


# --- the flow ----------------------------------------------------------------------------


def test_id_tokens_carry_email_only_with_the_email_scope_as_the_real_service_does(provider: Provider) -> None:
    """``email`` needs the ``email`` scope (the suite asks for none); ``preferred_username``
    may be a phone number. The account is its ``oid`` either way."""

    def claims(name: str, scope: str) -> dict[str, Any]:
        auth = _AuthRequest("client", REDIRECT_URI, "s", "n", "c", scope, "query", 0.0)
        return dict(
            jwt.decode(provider.stand_in.id_token(provider.base_url, auth, name, CONSUMERS_TENANT_ID), options={"verify_signature": False})
        )

    assert "email" not in claims("ada@example.com", "openid profile offline_access")
    assert claims("ada@example.com", "openid profile email")["email"] == "ada@example.com"
    phone = claims("+14255550100", "openid profile email")
    assert "email" not in phone and phone["preferred_username"] == "+14255550100"


def test_an_account_without_email_signs_in_keyed_on_its_oid(provider: Provider) -> None:
    by_phone = sign_in_as(provider, "+14255550100")
    assert by_phone.oid == stable_oid("+14255550100") and by_phone.email is None  # a phone number is not an address
    assert sign_in_as(provider, "+14255550100").oid == by_phone.oid


def test_sign_in_with_login_hint_returns_a_stable_identity(provider: Provider) -> None:
    first = sign_in_as(provider, "Alice@Example.com")
    assert first.oid == stable_oid("alice@example.com")
    assert first.email == "Alice@Example.com"
    assert first.name
    again = sign_in_as(provider, "alice@example.com")
    assert again.oid == first.oid
    other = sign_in_as(provider, "bob@example.com")
    assert other.oid != first.oid


def redeem(provider: Provider, flow: dict, params: dict[str, str], **overrides: str) -> httpx.Response:
    """The token request MSAL makes, sent by hand (client_secret_post)."""
    data = {
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "grant_type": "authorization_code",
        "code": params["code"],
        "redirect_uri": REDIRECT_URI,
        "code_verifier": flow["code_verifier"],
        "scope": "openid profile offline_access",
        **overrides,
    }
    with provider.browser() as browser:
        return browser.post(provider.authority + "/oauth2/v2.0/token", data=data)


def test_id_token_is_signed_by_the_published_key(provider: Provider) -> None:
    _, flow, params = authorize(provider, "carol@example.com")
    response = redeem(provider, flow, params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    with provider.browser() as browser:
        jwks = jwt.PyJWKSet.from_dict(browser.get(provider.authority + "/discovery/v2.0/keys").json())
    header = jwt.get_unverified_header(body["id_token"])
    key = next(k for k in jwks.keys if k.key_id == header["kid"])
    claims = jwt.decode(
        body["id_token"],
        key.key,
        algorithms=["RS256"],
        audience=CLIENT_ID,
        issuer=f"{provider.base_url}/{CONSUMERS_TENANT_ID}/v2.0",
    )
    assert claims["tid"] == CONSUMERS_TENANT_ID
    assert claims["oid"] == stable_oid("carol@example.com")
    assert claims["preferred_username"] == "carol@example.com"


def test_token_endpoint_checks_pkce_client_and_redirect(provider: Provider) -> None:
    _, flow, params = authorize(provider, "kim@example.com")
    assert redeem(provider, flow, params, code_verifier="x" * 43).json()["error"] == "invalid_grant"
    # the code was burnt by the failed attempt
    assert redeem(provider, flow, params).json()["error"] == "invalid_grant"
    _, flow, params = authorize(provider, "kim@example.com")
    assert redeem(provider, flow, params, redirect_uri=REDIRECT_URI + "x").status_code == 400
    _, flow, params = authorize(provider, "kim@example.com")
    wrong = redeem(provider, flow, params, client_secret="nope")
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    _, flow, params = authorize(provider, "kim@example.com")
    with provider.browser() as browser:
        basic = browser.post(
            provider.authority + "/oauth2/v2.0/token",
            auth=(CLIENT_ID, SECRET),
            data={
                "grant_type": "authorization_code",
                "code": params["code"],
                "redirect_uri": REDIRECT_URI,
                "code_verifier": flow["code_verifier"],
            },
        )
    assert basic.status_code == 200, basic.text


def test_expired_code_is_refused(provider: Provider) -> None:
    _, flow, params = authorize(provider, "liam@example.com")
    real_clock = provider.stand_in.clock
    provider.stand_in.clock = lambda: real_clock() + 301
    try:
        assert redeem(provider, flow, params).json()["error"] == "invalid_grant"
    finally:
        provider.stand_in.clock = real_clock


def test_replayed_code_is_refused(provider: Provider, caplog: pytest.LogCaptureFixture) -> None:
    sign_in, flow, params = authorize(provider, "dave@example.com")
    sign_in.finish(flow, params)
    with pytest.raises(SignInError) as caught:
        sign_in.finish(flow, params)
    # The provider's own text is logged (with the correlation id), never echoed to the caller.
    assert "invalid_grant" not in str(caught.value) and "correlation id" in str(caught.value)
    assert "invalid_grant" in caplog.text
    assert params["code"] not in str(caught.value)


def test_tampered_state_is_refused(provider: Provider) -> None:
    sign_in, flow, params = authorize(provider, "erin@example.com")
    with pytest.raises(SignInError) as caught:
        sign_in.finish(flow, {**params, "state": params["state"] + "x"})
    assert params["state"] not in str(caught.value)
    assert flow["state"] not in str(caught.value)


def test_forged_error_response_with_another_state_is_refused(provider: Provider) -> None:
    sign_in = provider.sign_in()
    _, flow = sign_in.start(login_hint="olga@example.com")
    with pytest.raises(SignInError) as caught:
        sign_in.finish(flow, {"error": "access_denied", "state": "forged"})
    assert "does not belong" in str(caught.value)


def test_adapter_imports_msal_lazily_and_hides_the_secret() -> None:
    import subprocess
    import sys

    code = (
        "import sys, shared.adapters.msa_signin as m;"
        "assert 'msal' not in sys.modules and 'azure.functions' not in sys.modules;"
        "s = m.MsalSignIn('https://login.microsoftonline.com/consumers', 'c', 'very-secret',"
        " redirect_uri='http://localhost/cb');"
        "assert 'very-secret' not in repr(s)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


def test_identity_provider_error_is_refused(provider: Provider) -> None:
    sign_in = provider.sign_in()
    url, flow = sign_in.start(login_hint="error@example.com")
    with provider.browser() as browser:
        params = callback_params(browser.get(url))
    assert params["error"] == "access_denied"
    assert params["state"] == flow["state"]
    with pytest.raises(SignInError) as caught:
        sign_in.finish(flow, params)
    assert "cancelled or refused" in str(caught.value)


def test_work_or_school_account_is_refused(provider: Provider) -> None:
    provider.stand_in.issue_tenant_override = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    sign_in, flow, params = authorize(provider, "frank@contoso.com")
    with pytest.raises(SignInError) as caught:
        sign_in.finish(flow, params)
    assert "work or school account" in str(caught.value)


def test_wrong_client_secret_is_refused(provider: Provider) -> None:
    _, flow, params = authorize(provider, "gina@example.com")
    wrong = MsalSignIn(
        provider.authority,
        CLIENT_ID,
        "not-the-secret",
        redirect_uri=REDIRECT_URI,
        expected_tenant_id=CONSUMERS_TENANT_ID,
        verify=str(provider.tls.ca),
    )
    with pytest.raises(SignInError) as caught:
        wrong.finish(flow, params)
    assert "invalid_client" not in str(caught.value) and "correlation id" in str(caught.value)
    assert "not-the-secret" not in str(caught.value)


def test_sign_in_form_without_login_hint(provider: Provider) -> None:
    sign_in = provider.sign_in()
    url, flow = sign_in.start()
    with provider.browser() as browser:
        page = browser.get(url)
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
        action = re.search(r'<form method="post" action="([^"]+)"', page.text)
        request_id = re.search(r'name="request" value="([^"]+)"', page.text)
        assert action and request_id
        posted = browser.post(
            action.group(1).replace("&amp;", "&"),
            data={"request": request_id.group(1), "email": "hana@example.com"},
        )
        params = callback_params(posted)
        # the sign-in page is single use
        again = browser.post(action.group(1), data={"request": request_id.group(1), "email": "x@example.com"})
        assert again.status_code == 400
    identity = sign_in.finish(flow, params)
    assert identity.oid == stable_oid("hana@example.com")


def test_authorize_requires_pkce_and_a_registered_client(provider: Provider) -> None:
    url, _ = provider.sign_in().start(login_hint="ivan@example.com")
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    endpoint = provider.authority + "/oauth2/v2.0/authorize"
    with provider.browser() as browser:
        no_pkce = {k: v for k, v in query.items() if not k.startswith("code_challenge")}
        params = callback_params(browser.get(endpoint, params=no_pkce))
        assert params["error"] == "invalid_request"
        plain = {**query, "code_challenge_method": "plain"}
        assert callback_params(browser.get(endpoint, params=plain))["error"] == "invalid_request"
        stranger = browser.get(endpoint, params={**query, "client_id": "someone-else"})
        assert stranger.status_code == 400
        assert "location" not in stranger.headers


def test_form_post_response_mode(provider: Provider) -> None:
    url, flow = provider.sign_in().start(login_hint="judy@example.com")
    with provider.browser() as browser:
        page = browser.get(url + "&response_mode=form_post")
    assert page.status_code == 200
    assert f'action="{REDIRECT_URI}"' in page.text
    assert 'name="code"' in page.text and f'value="{flow["state"]}"' in page.text
