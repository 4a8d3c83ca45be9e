"""The local host, started in-process once per session, and a small API client for tests."""

from __future__ import annotations

import os
import ssl
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from devhost.app import LocalHost
from shared.auth import ROLE_ADMIN, ROLE_FEED, ROLE_OPERATOR
from tests.receiver import Receiver, receiver


@pytest.fixture(scope="session")
def alert_receiver() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


@pytest.fixture(scope="session")
def host(tmp_path_factory: pytest.TempPathFactory, alert_receiver: Receiver) -> Iterator[LocalHost]:
    # Alerts go to a Logic App Request-trigger stand-in, as ALERTS_WEBHOOK_URL would in Azure.
    settings = {"ALERTS_WEBHOOK_URL": alert_receiver.url, "ALERTS_BACKOFF_SECONDS": "1", "ALERTS_BACKOFF_MAX_SECONDS": "2"}
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    local = LocalHost(port=0, data_dir=tmp_path_factory.mktemp("devhost"))
    local.start()
    yield local
    local.stop()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


PROGRAM_TENANT = "00000000-0000-0000-0000-0000000f7a11"  # the program's own tenant


class Api:
    """An HTTP client of the local host that signs in as whoever a test needs."""

    def __init__(self, host: LocalHost) -> None:
        self.host = host
        self.http = httpx.Client(base_url=host.base_url + "/api", timeout=30)

    def token(self, tenant: str, *, user: str | None = None, roles: tuple[str, ...] = ()) -> str:
        return self.host.token(tenant, user_id=user, roles=roles)

    def headers(self, tenant: str | None, *, user: str | None = None, roles: tuple[str, ...] = ()) -> dict[str, str]:
        if tenant is None:
            return {}
        return {"Authorization": "Bearer " + self.token(tenant, user=user, roles=roles)}

    def request(self, method: str, path: str, *, as_: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        headers = {**(as_ or {}), **kwargs.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kwargs)

    # Who is calling
    def operator(self) -> dict[str, str]:
        return self.headers(PROGRAM_TENANT, roles=(ROLE_OPERATOR,))

    def feed(self) -> dict[str, str]:
        return self.headers(PROGRAM_TENANT, roles=(ROLE_FEED,))

    def admin(self, tenant: str, user: str | None = None) -> dict[str, str]:
        return self.headers(tenant, user=user, roles=(ROLE_ADMIN,))

    def member(self, tenant: str, user: str | None = None) -> dict[str, str]:
        return self.headers(tenant, user=user)

    def register_partner(self, *, domain: str | None = None) -> tuple[str, str]:
        """A new partner with its own tenant; returns (partnerId, tenantId)."""
        partner_id = "p-" + uuid.uuid4().hex[:10]
        tenant_id = str(uuid.uuid4())
        body: dict[str, Any] = {"displayName": f"Partner {partner_id}", "tenantId": tenant_id}
        if domain:
            body["primaryDomain"] = domain
        response = self.request("PUT", f"/partners/{partner_id}", as_=self.operator(), json=body)
        assert response.status_code == 201, response.text
        return partner_id, tenant_id


@pytest.fixture(scope="session")
def api(host: LocalHost) -> Iterator[Api]:
    client = Api(host)
    yield client
    client.http.close()


def wait_for(condition: Callable[[], Any], seconds: float = 20) -> None:
    """Poll until the background work (queue triggers, the dispatcher) has done its part."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"not done within {seconds:.0f} s")


def trust(api: Api) -> ssl.SSLContext:
    """A browser that trusts the local host's development CA (the MSA stand-in's TLS)."""
    return ssl.create_default_context(cafile=str(api.host.ca_bundle))


def sign_in_msa(api: Api, tenant: str, user: str, email: str) -> dict[str, str]:
    """Start a link as the user and sign ``email`` in the way a browser would; the callback's
    answer to a script: ``{"code", "state", "complete"}``."""
    start = api.request("POST", "/me/msa-link", as_=api.member(tenant, user), json={"loginHint": email})
    assert start.status_code == 200, start.text
    return follow_sign_in(api, start.json()["authorizationUrl"])


def follow_sign_in(api: Api, authorization_url: str) -> dict[str, str]:
    """A browser at ``authorization_url`` (the stand-in signs the login hint in), then the
    callback asked for JSON."""
    with httpx.Client(verify=trust(api), timeout=30) as browser:
        signed_in = browser.get(authorization_url)
    assert signed_in.status_code == 302, signed_in.text
    callback = signed_in.headers["location"]
    assert callback.startswith(api.host.base_url + "/api/msa/callback?")
    answer = api.http.get(callback.removeprefix(api.host.base_url + "/api"), headers={"Accept": "application/json"})
    assert answer.status_code == 200, answer.text
    body: dict[str, str] = answer.json()
    assert body["complete"] == "/api/me/msa-link/complete"
    return body


def complete_link(api: Api, tenant: str, user: str, callback: dict[str, str]) -> httpx.Response:
    return api.request(
        "POST", "/me/msa-link/complete", as_=api.member(tenant, user), json={"code": callback["code"], "state": callback["state"]}
    )


def link_msa(api: Api, tenant: str, user: str, email: str) -> httpx.Response:
    """Link ``email``'s MSA to the user: start, sign in, callback, complete as that user."""
    return complete_link(api, tenant, user, sign_in_msa(api, tenant, user, email))
