"""The portal's files as the local host serves them (the Static Web App stand-in) and the
development sign-in's refusals; no server needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devhost.portal import LOCAL_CONFIG, PORTAL_DIR, DevSignIn, StaticSite
from devhost.standin import Request

ROOT = Path(__file__).resolve().parents[2]


def get(path: str, method: str = "GET", headers: dict[str, str] | None = None, client: str = "127.0.0.1") -> Request:
    return Request(
        method=method,
        path=path,
        query={},
        headers={"host": "localhost:7071", **(headers or {})},
        body=b"",
        base_url="http://localhost:7071",
        full_path=path,
        client=client,
    )


def test_the_portal_is_served_with_the_static_web_apps_headers() -> None:
    site = StaticSite()
    index = site.handle(get("/"))
    assert index.status == 200 and index.headers["Content-Type"] == "text/html; charset=utf-8"
    assert b'<script type="module" src="js/app.js">' in index.body
    policy = json.loads((PORTAL_DIR / "staticwebapp.config.json").read_text())["globalHeaders"]["Content-Security-Policy"]
    assert index.headers["Content-Security-Policy"] == policy and "'unsafe-inline'" not in policy
    script = site.handle(get("/js/app.js"))
    assert script.status == 200 and script.headers["Content-Type"].startswith("text/javascript")


@pytest.mark.parametrize("path", ["/../pyproject.toml", "/js/../../README.md", "/%2e%2e/pyproject.toml", "/.hidden", "/nothing.js", "/js/"])
def test_nothing_outside_the_portal_folder_is_served(path: str) -> None:
    answer = StaticSite().handle(get(path))
    assert answer.status == 404 and answer.headers["Content-Type"] == "application/problem+json"


def test_the_portal_is_read_only_and_locally_configured_for_the_development_sign_in() -> None:
    site = StaticSite()
    assert site.handle(get("/index.html", method="POST")).status == 405
    config = site.handle(get("/config.json"))
    assert json.loads(config.body) == LOCAL_CONFIG  # not the Azure file, which names the Entra app
    assert json.loads((PORTAL_DIR / "config.json").read_text())["signIn"] == "msal"


def test_the_vendored_msal_browser_is_the_pinned_npm_package() -> None:
    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]["@azure/msal-browser"]
    vendored = (PORTAL_DIR / "vendor" / "msal-browser.min.js").read_bytes()
    assert vendored.startswith(f"/*! @azure/msal-browser v{pinned} ".encode())
    installed = ROOT / "node_modules" / "@azure" / "msal-browser" / "lib" / "msal-browser.min.js"
    assert vendored == installed.read_bytes()  # make test runs npm ci first


@pytest.mark.parametrize("headers", [{"host": "portal.example:7071"}, {"origin": "https://evil.example"}, {"host": "10.0.0.5:7071"}])
def test_the_development_sign_in_answers_loopback_only(headers: dict[str, str]) -> None:
    answer = DevSignIn(issuer=None).handle(get("/", method="POST", headers=headers))  # type: ignore[arg-type]
    assert answer.status == 403
