"""The MSA link once in a real headless browser: Debian's Chromium driven by Playwright."""

from __future__ import annotations

import shutil
import uuid

from playwright.sync_api import expect, sync_playwright

from tests.e2e.conftest import Api

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def test_an_employee_links_an_msa_in_a_real_browser(api: Api) -> None:
    partner_id, tenant = api.register_partner()
    added = api.request(
        "POST",
        f"/partners/{partner_id}/users",
        as_=api.admin(tenant),
        json={"users": [{"displayName": "Browser User", "email": "b@x.com"}]},
    )
    user = added.json()["results"][0]["userId"]
    # Without a login hint the stand-in shows its sign-in form, as the real page would.
    start = api.request("POST", "/me/msa-link", as_=api.member(tenant, user), json={})
    assert start.status_code == 200
    email = f"browser-{uuid.uuid4().hex[:6]}@outlook.example"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = browser.new_context(ignore_https_errors=True).new_page()
            # The employee is signed in to the portal (same origin) in this tab.
            page.goto(f"{api.host.base_url}/api/health")
            page.evaluate("t => sessionStorage.setItem('competency-suite.accessToken', t)", api.token(tenant, user=user))
            page.goto(start.json()["authorizationUrl"])
            page.fill("input[type=email], input[name=email], input[name=login_hint]", email)
            page.click("button[type=submit], input[type=submit]")
            page.wait_for_url(f"{api.host.base_url}/api/msa/callback*")
            # A locator wait, not wait_for_function: the page's CSP forbids the eval that needs.
            expect(page.locator("#title")).not_to_have_text("Finishing the link", timeout=30_000)
            text = page.inner_text("body")
            address = page.url
        finally:
            browser.close()
    assert "is linked" in text and partner_id in text, text
    assert "code=" not in address  # the code does not stay in the address bar or history
    link = api.request("GET", "/me/msa-link", as_=api.member(tenant, user))
    assert link.status_code == 200 and link.json()["partnerId"] == partner_id
