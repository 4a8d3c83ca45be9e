"""The portal in a real browser (Debian's Chromium driven by Playwright), 360 px wide, over
the local host: the whole life cycle through its pages, axe-core on every page, and a
screenshot of each page under ``test-artifacts/portal/``."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, FilePayload, Page, Route, expect, sync_playwright

from shared.domain.alert_rules import RENEWAL_AT_RISK_TITLE
from tests.e2e.conftest import Api
from tests.e2e.test_browser import CHROMIUM, FLAGS

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "portal"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WIDTH = 360
ROWS = 101  # more than IMPORT_INLINE_ROWS: the import continues in the background


@pytest.fixture(scope="module")
def browser() -> Any:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield launched
        launched.close()


PAGE_ERRORS: list[str] = []  # script errors and Content-Security-Policy violations, any page


def new_page(browser: Browser) -> Page:
    context = browser.new_context(ignore_https_errors=True, viewport={"width": WIDTH, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("pageerror", lambda error: PAGE_ERRORS.append(f"{page.url}: {error}"))

    def console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            PAGE_ERRORS.append(f"{page.url}: {message.text}")

    page.on("console", console)
    return page


def sign_in(page: Page, base_url: str, identity: str) -> None:
    """Through the local host's sign-in page, as a person would."""
    page.goto(base_url + "/")
    page.get_by_role("button", name="Sign in").first.click()
    page.wait_for_url("**/_dev/signin/")
    if identity.startswith("user:"):  # one partner's users at a time
        page.click(f"a[href$='?partner={identity.split(':')[1]}']")
        page.wait_for_url("**/_dev/signin/?partner=*")
    check(page, "sign-in", full_page=False)  # it lists every partner of the test session
    page.check(f"input[value='{identity}']")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("main h1")


def open_page(page: Page, title: str) -> None:
    page.get_by_role("navigation", name="Pages").get_by_role("link", name=title, exact=True).click()
    page.wait_for_selector(f"main h1:text-is('{title}')")
    page.wait_for_selector("#view .page:not([aria-busy])")


def check(page: Page, name: str, *, full_page: bool = True) -> None:
    """No axe-core violation, nothing wider than 360 px, and a screenshot of the page."""
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)
    if not page.evaluate("() => !!window.axe"):
        # Through the debugging protocol, so the page keeps its own Content-Security-Policy.
        page.evaluate(AXE.read_text() + "\n;true")
    violations = page.evaluate(
        "async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}))"
        ".violations.map(v => ({id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))"
    )
    assert violations == [], f"{name}: {json.dumps(violations, indent=1)}"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= WIDTH, f"{name} is wider than {WIDTH} px"


def test_the_life_cycle_through_the_portal(api: Api, browser: Browser) -> None:
    base = api.host.base_url
    partner_id, tenant = api.register_partner()
    history_exists = api.request("GET", f"/partners/{partner_id}/competencies/history", as_=api.member(tenant)).status_code == 200

    # An admin signs in, uploads a CSV, watches the import progress, downloads the log once.
    admin = new_page(browser)
    responses: list[tuple[str, str, int]] = []
    admin.on("response", lambda r: responses.append((r.request.method, r.url, r.status)))
    sign_in(admin, base, f"admin:{partner_id}")
    admin.wait_for_selector("#view .page:not([aria-busy])")
    assert "first evaluation" in admin.inner_text("main")  # not evaluated yet: the problem says so
    check(admin, "competencies-before-evaluation")

    open_page(admin, "Users")
    rows = ["First name,Last name,Email address,Display name", "Ada,Lovelace,ada@contoso.example,Ada Lovelace"]
    rows += [f"Person,{i},p{i}@contoso.example,Person {i}" for i in range(2, ROWS + 1)]
    csv_file: FilePayload = {"name": "users.csv", "mimeType": "text/csv", "buffer": "\n".join(rows).encode()}
    admin.set_input_files("input[type=file]", files=[csv_file])
    admin.get_by_role("button", name="Upload and add users").click()
    admin.wait_for_selector(f"text={ROWS} of {ROWS} rows done", timeout=30_000)
    posted = [s for m, u, s in responses if m == "POST" and u.endswith(f"/partners/{partner_id}/users")]
    polled = [u for m, u, s in responses if m == "GET" and "/imports/" in u and s == 200]
    assert posted == [202] and polled, (posted, polled)  # the bar followed the import's counts
    assert admin.locator("progress").first.get_attribute("value") == str(ROWS)
    assert "works once" in admin.inner_text(".log").lower()
    check(admin, "users-import")
    with admin.expect_download() as download:
        admin.get_by_role("button", name="Download the log once").click()
    log = Path(download.value.path()).read_text()
    assert log.splitlines()[0].replace('"', "") == "userPrincipalName,displayName,temporaryPassword,status,message"
    assert len(log.splitlines()) == ROWS + 1 and "Ada Lovelace" in log
    admin.wait_for_selector("text=cannot be downloaded again")
    assert admin.get_by_role("button", name="Download the log once").is_disabled()
    import_url = next(u for _, u, _ in responses if "/imports/" in u and not u.endswith("/log"))
    again = api.http.get(import_url.removeprefix(base + "/api") + "/log", headers=api.admin(tenant))
    assert again.status_code == 410  # once only

    users = api.request("GET", f"/partners/{partner_id}/users", as_=api.admin(tenant)).json()["users"]
    ada = next(u for u in users if u["displayName"] == "Ada Lovelace")

    # Ada links her MSA from My account; the callback page completes with her portal token.
    employee = new_page(browser)
    sign_in(employee, base, f"user:{partner_id}:{ada['userId']}")
    open_page(employee, "My account")
    check(employee, "account-unlinked")
    employee.fill("input[name=loginHint]", f"ada-{uuid.uuid4().hex[:6]}@outlook.example")
    employee.get_by_role("button", name="Link my Microsoft account").click()
    employee.wait_for_url(f"{base}/api/msa/callback*")
    expect(employee.locator("#title")).not_to_have_text("Finishing the link")
    assert "is linked" in employee.inner_text("body")
    check(employee, "msa-callback")
    employee.get_by_role("link", name="Back to the portal").click()
    employee.wait_for_selector("text=Your Microsoft account is linked to " + partner_id)
    check(employee, "account-linked")
    msa_id = api.request("GET", "/me/msa-link", as_=api.member(tenant, ada["userId"])).json()["msaId"]

    # The feed posts her exam and the partner's revenue; the evaluation shows silver met.
    feed = {"achievements": [{"msaId": msa_id, "kind": "exam", "code": "70-533", "earnedOn": "2026-01-10", "expiresOn": "2028-01-10"}]}
    assert api.request("POST", "/achievements", as_=api.feed(), json=feed).json()["accepted"] == 1
    figures = {"asOf": "2026-10-31", "metrics": [{"metric": "revenueUsd", "competencyId": "cloud-platform", "value": 20000}]}
    assert api.request("PUT", f"/partners/{partner_id}/performance", as_=api.feed(), json=figures).status_code in (200, 201)
    assert api.request("POST", f"/partners/{partner_id}/evaluations", as_=api.operator()).status_code == 200
    open_page(admin, "Competencies")
    cloud = admin.locator("details.competency", has_text="Cloud Platform")
    assert cloud.locator(".badge.silver").inner_text() == "Silver"
    assert cloud.locator("h3", has_text="Silver: met").count() == 1
    assert "Ada Lovelace" in cloud.locator(".spof").inner_text()  # she alone holds the level
    assert "To reach gold" in cloud.inner_text()
    assert admin.locator("text=Cloud Platform silver: held until").count() == 1
    assert (admin.locator("h2:text-is('Progress over time')").count() == 1) == history_exists
    if history_exists:  # the chart's text twin says when Cloud Platform became silver
        assert "Cloud Platform over time" in (
            admin.locator("svg[aria-label^='Cloud Platform over time']").get_attribute("aria-label") or ""
        )
        assert "silver" in (admin.locator("svg[aria-label^='Cloud Platform over time']").get_attribute("aria-label") or "")
    check(admin, "competencies-silver")

    # The admin buys silver.
    open_page(admin, "Membership")
    admin.get_by_role("button", name="Buy silver").click()
    admin.wait_for_selector("text=Silver benefit pack active until")
    assert "cloud-platform" in admin.inner_text("main")  # the business profile
    check(admin, "membership-silver")

    # Ada leaves; after the evaluation the at-risk banner shows the seed's sentence.
    open_page(admin, "Users")
    admin.once("dialog", lambda dialog: dialog.accept())
    admin.get_by_role("button", name="Remove Ada Lovelace").click()
    admin.wait_for_selector("text=Ada Lovelace was removed; the suite created their directory account, so it was deleted.")
    assert api.request("POST", f"/partners/{partner_id}/evaluations", as_=api.operator()).status_code == 200
    open_page(admin, "Alerts")
    banner = admin.locator("#banner [role=alert]")
    banner.wait_for()
    assert banner.locator("strong").inner_text() == RENEWAL_AT_RISK_TITLE
    assert RENEWAL_AT_RISK_TITLE == "A recent change to your competency achievement has put your membership renewal eligibility at risk"
    assert admin.locator("article.alert h2", has_text=RENEWAL_AT_RISK_TITLE).count() == 1
    check(admin, "alerts-at-risk")
    open_page(admin, "Membership")
    admin.get_by_role("button", name="Renew silver").click()
    problem = admin.locator(".problem")
    problem.wait_for()  # not eligible any more: the gap in words and the correlation id
    assert "Correlation id" in problem.inner_text() and len(problem.inner_text()) > 40
    check(admin, "membership-refused")

    # An operator's pages.
    operator = new_page(browser)
    sign_in(operator, base, "operator")
    operator.fill("#partner", partner_id)
    operator.get_by_role("button", name="Show").click()
    open_page(operator, "Program")
    check(operator, "program")
    operator.fill("input[name=overrideId]", "delay-1")
    operator.fill("input[name=competencyId]", "nope")
    operator.fill("input[name=reason]", "Exam results delayed")
    operator.get_by_role("button", name="Grant override").click()
    operator.locator(".problem").wait_for()  # a bad competency: the API's problem is shown
    assert "Correlation id" in operator.locator(".problem").inner_text()
    open_page(operator, "Alerts")
    check(operator, "alerts-operator")
    assert PAGE_ERRORS == []


def test_in_azure_the_portal_signs_in_through_msal_js(api: Api, browser: Browser) -> None:
    """With the config.json a deployment writes, Sign in goes to Entra ID's authorize endpoint
    (authorization code with PKCE) for the API's scope, back to the portal's own origin."""
    client_id = str(uuid.uuid4())
    config = {
        "signIn": "msal",
        "clientId": client_id,
        "authority": "https://login.microsoftonline.com/organizations",
        "scopes": ["api://competency-suite/access_as_user"],
    }
    page = new_page(browser)
    page.route("**/config.json", lambda route: route.fulfill(content_type="application/json", body=json.dumps(config)))
    authorize: list[str] = []

    def entra(route: Route) -> None:  # no Entra ID here: record where the browser was sent
        authorize.append(route.request.url)
        route.fulfill(content_type="text/html", body="<!doctype html><title>Entra ID</title>")

    page.route("https://login.microsoftonline.com/**", entra)
    page.goto(api.host.base_url + "/")
    page.get_by_role("button", name="Sign in").first.click()
    page.wait_for_url("https://login.microsoftonline.com/**")
    [url] = authorize
    query = parse_qs(urlsplit(url).query)
    assert url.startswith("https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize?")
    assert query["client_id"] == [client_id] and query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"] and query["prompt"] == ["select_account"]
    assert "api://competency-suite/access_as_user" in query["scope"][0].split()
    assert query["redirect_uri"] == [api.host.base_url + "/"]
    assert PAGE_ERRORS == []
