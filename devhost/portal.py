"""The portal on the local host: a stand-in of Azure Static Web Apps, and a sign-in page.

``StaticSite`` serves ``portal/`` the way a Static Web App serves its content: every path
that is not under ``/api/`` (the linked function app) or a development prefix is a file of
the site, with the ``globalHeaders`` of ``staticwebapp.config.json``. It sits outside the
function host's route table: the functions never see these requests, as in Azure.

``/config.json`` is the one file that differs: in Azure it names the Entra ID app
registration (MSAL.js); here it sends the portal to ``DevSignIn``, a page of the local host
that mints tokens for the partners, users and roles the local host knows (loopback only).
"""

from __future__ import annotations

import html
import json
import mimetypes
from pathlib import Path
from typing import Any
from urllib.parse import quote

from devhost.entra import TokenIssuer
from devhost.standin import Request, Response, local_only

PORTAL_DIR = Path(__file__).resolve().parent.parent / "portal"
SIGN_IN_PREFIX = "/_dev/signin"
LOCAL_CONFIG = {"signIn": "local", "signInUrl": SIGN_IN_PREFIX}
_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".json": "application/json", ".svg": "image/svg+xml"}


class StaticSite:
    """Files of ``root`` with the Static Web App's global headers; ``/`` is ``index.html``."""

    def __init__(self, root: Path = PORTAL_DIR) -> None:
        self.root = root.resolve()
        config = json.loads((self.root / "staticwebapp.config.json").read_text())
        self.headers: dict[str, str] = dict(config.get("globalHeaders", {}))

    def handle(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return self._problem(405, "Method not allowed", "The portal's files are read with GET.")
        path = request.full_path or "/"
        if path == "/config.json":
            return self._file_response(json.dumps(LOCAL_CONFIG).encode(), ".json")
        relative = path.lstrip("/") or "index.html"
        if relative.endswith("/"):
            relative += "index.html"
        target = (self.root / relative).resolve()
        if not target.is_relative_to(self.root) or not target.is_file() or target.name.startswith("."):
            return self._problem(404, "Not found", f"The portal has no file at {path}.")
        return self._file_response(target.read_bytes(), target.suffix)

    def _file_response(self, body: bytes, suffix: str) -> Response:
        kind = _TYPES.get(suffix) or mimetypes.guess_type("x" + suffix)[0] or "application/octet-stream"
        charset = "; charset=utf-8" if kind.startswith("text/") or kind.endswith("json") else ""
        headers = {**self.headers, "Content-Type": kind + charset, "Cache-Control": "no-cache"}
        return Response(200, headers, body)

    def _problem(self, status: int, title: str, detail: str) -> Response:
        body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
        return Response(status, {**self.headers, "Content-Type": "application/problem+json"}, json.dumps(body).encode())


class DevSignIn:
    """``GET /_dev/signin``: who to be; ``POST``: mint that token and return to the portal.

    The token goes back in the address's fragment (never sent to a server), which the
    portal's local sign-in moves into ``sessionStorage`` and removes from the address bar.
    """

    prefix = SIGN_IN_PREFIX
    PROGRAM_TENANT = "00000000-0000-0000-0000-0000000f7a11"  # the program's own tenant, as in the README's examples

    def __init__(self, issuer: TokenIssuer) -> None:
        self.issuer = issuer

    def handle(self, request: Request) -> Response:
        refused = local_only(request)  # for whoever sits at this machine, whatever address the host binds
        if refused is not None:
            return refused
        if request.method == "GET" and request.path == "/":
            return self._page(self._identities(request.arg("partner") or ""))
        if request.method == "POST" and request.path == "/":
            choice = request.form().get("identity", "")
            shown = choice.split(":")[1] if choice.startswith("user:") and choice.count(":") == 2 else ""
            identity = next((i for i in self._identities(shown) if i["key"] == choice), None)
            if identity is None:
                return self._page(self._identities(shown), error="Choose who to sign in as.", status=400)
            token = self.issuer.mint(
                base_url=request.base_url,
                tenant_id=identity["tenant"],
                user_id=identity.get("user"),
                upn=identity.get("upn"),
                roles=identity["roles"],
                extra={"name": identity["name"]},
            )
            fragment = f"access_token={quote(token)}&partner={quote(identity.get('partner', ''))}"
            return Response(303, {"Location": f"/#{fragment}", "Cache-Control": "no-store"})
        return Response.json({"error": "not_found"}, 404)

    def _identities(self, users_of: str) -> list[dict[str, Any]]:
        """The operator, every partner's admin, and the active users of the partner ``users_of``
        (one partner's at a time, so the page stays small whatever the store holds)."""
        from shared.bootstrap import partner_service, users_service

        partners = partner_service()
        found: list[dict[str, Any]] = [
            {
                "key": "operator",
                "name": "Program operator",
                "tenant": self.PROGRAM_TENANT,
                "roles": ["Program.Operator"],
                "group": "Program",
            },
        ]
        for partner_id in partners.partner_ids():
            partner = partners.get(partner_id)
            group = f"{partner.display_name} ({partner_id})"
            common = {"tenant": partner.tenant_id, "partner": partner_id, "group": group}
            found.append({"key": f"admin:{partner_id}", "name": f"Admin of {partner.display_name}", "roles": ["Partner.Admin"], **common})
            if partner_id != users_of:
                found.append({"key": "", "name": "", "roles": [], "users_link": partner_id, **common})
                continue
            for user in users_service().list_users(partner_id)["users"]:
                if user["status"] != "active":
                    continue
                found.append(
                    {
                        "key": f"user:{partner_id}:{user['userId']}",
                        "name": user["displayName"],
                        "user": user["userId"],
                        "upn": user["userPrincipalName"],
                        "roles": [],
                        **common,
                    }
                )
        return found

    def _page(self, identities: list[dict[str, Any]], *, error: str = "", status: int = 200) -> Response:
        groups: dict[str, list[str]] = {}
        for i, identity in enumerate(identities):
            if identity.get("users_link"):
                groups.setdefault(identity["group"], []).append(
                    f'<li><a href="{SIGN_IN_PREFIX}/?partner={quote(identity["users_link"])}">Show its users</a></li>'
                )
                continue
            roles = ", ".join(identity["roles"]) or "member"
            checked = " checked" if i == 0 else ""
            groups.setdefault(identity["group"], []).append(
                f'<li><label><input type="radio" name="identity" value="{html.escape(identity["key"])}"{checked}> '
                f"{html.escape(identity['name'])} <small>({html.escape(roles)})</small></label></li>"
            )
        fieldsets = "".join(
            f"<fieldset><legend>{html.escape(group)}</legend><ul>{''.join(items)}</ul></fieldset>" for group, items in groups.items()
        )
        alert = f'<p role="alert">{html.escape(error)}</p>' if error else ""
        body = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>Sign in (local host)</title>"
            "<style>body{font-family:system-ui,sans-serif;max-width:40em;margin:1em auto;padding:0 1em}"
            "ul{list-style:none;padding:0}li{margin:.4em 0;overflow-wrap:anywhere}fieldset{margin:1em 0;min-width:0}"
            "button{font-size:1em;padding:.5em 1.2em}</style></head><body><main>"
            "<h1>Sign in to the competency portal</h1>"
            "<p>This page belongs to the local host only: it signs you in as any partner, user or role the "
            "local host knows. In Azure the portal signs in with Microsoft Entra ID.</p>"
            f'{alert}<form method="post" action="{SIGN_IN_PREFIX}/">{fieldsets}'
            '<button type="submit">Sign in</button></form></main></body></html>'
        )
        headers = {
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": (
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
            ),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        }
        return Response(status, headers, body.encode())
