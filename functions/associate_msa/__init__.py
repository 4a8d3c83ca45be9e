"""Employees link their personal Microsoft account (MSA): start sign-in, callback, complete, read, unlink."""

from __future__ import annotations

import html

import azure.functions as func

from functions.http import Call, endpoint, json_response, no_content
from shared.auth import OWN_PARTNER, PUBLIC
from shared.schedules import SIGNIN_FLOW_SWEEP

bp = func.Blueprint()

# Largest bodies of each request, in bytes: a login hint; a code and state; the provider's form post.
START_BODY_BYTES = 4096
COMPLETE_BODY_BYTES = 16384
CALLBACK_FORM_BYTES = 65536
CALLBACK_FORM_FIELDS = 20

# The callback page shows only static text and the organisation's name (escaped).
HTML_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@endpoint(
    bp,
    "me/msa-link",
    "POST",
    name="start_msa_link",
    rule=OWN_PARTNER,
    summary="Start linking the caller's personal Microsoft account",
    tags=["msa"],
    request="shared.services.msa_sign_in_flow:LinkStartIn",
    response="shared.services.msa_sign_in_flow:LinkStartOut",
)
def start_msa_link(call: Call) -> func.HttpResponse:
    from shared.bootstrap import msa_link_service
    from shared.services.msa_sign_in_flow import LinkStartIn

    body = LinkStartIn() if not (call.req.get_body() or b"").strip() else call.model(LinkStartIn, limit=START_BODY_BYTES)
    assert call.partner is not None and call.caller is not None
    return json_response(msa_link_service().start(call.partner, call.caller, body).model_dump(by_alias=True))


@endpoint(
    bp,
    "me/msa-link",
    "GET",
    name="get_msa_link",
    rule=OWN_PARTNER,
    summary="The caller's MSA link",
    tags=["msa"],
    response="shared.services.msa_sign_in_flow:LinkOut",
)
def get_msa_link(call: Call) -> func.HttpResponse:
    from shared.bootstrap import msa_link_service

    assert call.partner is not None and call.caller is not None
    return json_response(msa_link_service().current(call.partner, call.caller))


@endpoint(
    bp,
    "me/msa-link",
    "DELETE",
    name="delete_msa_link",
    rule=OWN_PARTNER,
    summary="Unlink the caller's MSA (its achievements stop counting at the next evaluation)",
    tags=["msa"],
    status=204,
)
def delete_msa_link(call: Call) -> func.HttpResponse:
    from shared.bootstrap import msa_link_service

    assert call.partner is not None and call.caller is not None
    msa_link_service().unlink(call.partner, call.caller)
    return no_content()


def _callback(call: Call, params: dict[str, str]) -> func.HttpResponse:
    """The redirect URI: never links; hands the code and state to whoever completes."""
    from shared.bootstrap import msa_link_service
    from shared.errors import ProblemError

    wants_html = "text/html" in (call.header("accept") or "")
    try:
        out = msa_link_service().callback(params)
    except ProblemError as error:
        if not wants_html:
            raise
        return _page(error.status, "Linking did not complete", error.detail)
    if wants_html:
        return _page(200, "Finishing the link", "Finishing the link to your organisation...", code=out.code, state=out.state)
    return json_response(out.model_dump(by_alias=True))


# The page completes with the token the portal (served from this origin, e.g. a Static Web
# App with this Function App as its linked backend) keeps in sessionStorage. It only ever
# writes text (textContent), and removes the code from the address bar and history first.
PORTAL_ACCOUNT_PAGE = "/#/account"  # the portal's My account page, on the same origin
TOKEN_KEY = "competency-suite.accessToken"  # noqa: S105 - a storage key, not a secret
COMPLETE_SCRIPT = (
    "(function(){var f=document.getElementById('flow'),m=document.getElementById('message'),"
    "h=document.getElementById('title');history.replaceState(null,'',location.pathname);"
    "function say(t,x){h.textContent=t;m.textContent=x;}"
    "if(!f){return;}"
    "var token=sessionStorage.getItem('" + TOKEN_KEY + "');"
    "if(!token){say('Linking did not complete','Sign in to the portal in this browser, then start linking again from the portal.');return;}"
    "fetch('../me/msa-link/complete',{method:'POST',credentials:'omit',headers:{'Authorization':'Bearer '+token,"
    "'Content-Type':'application/json','Accept':'application/json'},"
    "body:JSON.stringify({code:f.dataset.code,state:f.dataset.state})})"
    ".then(function(r){return r.json().then(function(b){return [r.ok,b];});})"
    ".then(function(a){if(a[0]){say('Your Microsoft account is linked','Your Microsoft account is now linked to your organisation ('"
    "+a[1].partnerId+').'+(a[1].severedPartnerId?' It is no longer linked to your previous organisation.':'')"
    "+' Your certifications count toward its competencies after the next nightly evaluation: allow 24 hours.');}"
    "else{say('Linking did not complete',String(a[1].detail||'The link was refused.'));}})"
    ".catch(function(){say('Linking did not complete','The service could not be reached. Start linking again from the portal.');});})();"
)


def _script_hash(script: str) -> str:
    import base64
    import hashlib

    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def _page(status: int, title: str, text: str, *, code: str | None = None, state: str | None = None) -> func.HttpResponse:
    flow = ""
    headers = dict(HTML_HEADERS)
    if code is not None and state is not None:
        data = f'data-code="{html.escape(code)}" data-state="{html.escape(state)}"'
        flow = f'<div id="flow" {data} hidden></div><script>{COMPLETE_SCRIPT}</script>'
        headers["Content-Security-Policy"] = (
            HTML_HEADERS["Content-Security-Policy"] + f"; script-src {_script_hash(COMPLETE_SCRIPT)}; connect-src 'self'"
        )
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><title>'
        f'{html.escape(title)}</title></head><body style="font-family:sans-serif;max-width:40em;margin:3em auto"><main>'
        f'<h1 id="title">{html.escape(title)}</h1><p id="message">{html.escape(text)}</p>'
        f'<p><a href="{PORTAL_ACCOUNT_PAGE}">Back to the portal</a></p>{flow}</main></body></html>'
    )
    return func.HttpResponse(body, status_code=status, mimetype="text/html", charset="utf-8", headers=headers)


@endpoint(
    bp,
    "msa/callback",
    "GET",
    name="msa_callback",
    rule=PUBLIC,
    summary="The MSA sign-in's redirect URI: never links; hands back the code and state to complete with",
    tags=["msa"],
    response="shared.services.msa_sign_in_flow:CallbackOut",
    query={"code": "authorization code", "state": "the sign-in's state", "error": "error from the identity provider"},
    responses={400: "Unknown, expired or used state, or a sign-in error"},
)
def msa_callback(call: Call) -> func.HttpResponse:
    return _callback(call, {k: v for k, v in call.req.params.items()})


@endpoint(
    bp,
    "msa/callback",
    "POST",
    name="msa_callback_form_post",
    rule=PUBLIC,
    summary="The redirect URI for response_mode=form_post (never links)",
    tags=["msa"],
    request="shared.services.msa_sign_in_flow:LinkCompleteIn",
    request_types=["application/x-www-form-urlencoded"],
    response="shared.services.msa_sign_in_flow:CallbackOut",
    responses={400: "Unknown, expired or used state, or a sign-in error"},
)
def msa_callback_form_post(call: Call) -> func.HttpResponse:
    from urllib.parse import parse_qsl

    from shared.errors import UnsupportedMediaType

    if call.content_type() != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType("The form-post callback takes application/x-www-form-urlencoded.")
    try:
        text = call.body_bytes(limit=CALLBACK_FORM_BYTES).decode("utf-8")
        form = dict(parse_qsl(text, keep_blank_values=True, max_num_fields=CALLBACK_FORM_FIELDS))
    except (UnicodeDecodeError, ValueError):
        from shared.errors import BadRequest

        raise BadRequest("The form body is not valid.") from None
    return _callback(call, form)


@endpoint(
    bp,
    "me/msa-link/complete",
    "POST",
    name="complete_msa_link",
    rule=OWN_PARTNER,
    summary="Complete the caller's own MSA sign-in: link the MSA, sever any previous organisation",
    tags=["msa"],
    request="shared.services.msa_sign_in_flow:LinkCompleteIn",
    response="shared.services.msa_sign_in_flow:LinkOut",
    responses={400: "A sign-in started by another account, an unknown, used or expired state, or a refused code"},
)
def complete_msa_link(call: Call) -> func.HttpResponse:
    from shared.bootstrap import msa_link_service
    from shared.services.msa_sign_in_flow import LinkCompleteIn

    assert call.partner is not None and call.caller is not None
    link = msa_link_service().complete(call.partner, call.caller, call.model(LinkCompleteIn, limit=COMPLETE_BODY_BYTES))
    return json_response(link.model_dump(by_alias=True, mode="json", exclude_none=True))


@bp.function_name("sweep_signin_flows")
@bp.timer_trigger(schedule=SIGNIN_FLOW_SWEEP, arg_name="timer", run_on_startup=False, use_monitor=False)
def sweep_signin_flows(timer: func.TimerRequest, context: func.Context = None) -> None:  # type: ignore[assignment]  # the worker binds an exact func.Context
    """Delete sign-ins started but never finished: their PKCE verifier must not linger."""
    from shared.bootstrap import msa_link_service
    from shared.telemetry import timer_run

    with timer_run("sweep_signin_flows", context):
        msa_link_service().sweep_expired_flows()
