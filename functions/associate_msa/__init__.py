"""Employees link their personal Microsoft account (MSA): start sign-in, callback, read, unlink."""

from __future__ import annotations

import html

import azure.functions as func

from functions.http import Call, endpoint, json_response, no_content
from shared.auth import OWN_PARTNER, PUBLIC

bp = func.Blueprint()

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
    request="shared.services.msa_link:LinkStartIn",
    response="shared.services.msa_link:LinkStartOut",
)
def start_msa_link(call: Call) -> func.HttpResponse:
    from shared.services.msa_link import LinkStartIn, msa_link_service

    body = LinkStartIn() if not (call.req.get_body() or b"").strip() else call.model(LinkStartIn, limit=4096)
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
    response="shared.services.msa_link:LinkOut",
)
def get_msa_link(call: Call) -> func.HttpResponse:
    from shared.services.msa_link import msa_link_service

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
    from shared.services.msa_link import msa_link_service

    assert call.partner is not None and call.caller is not None
    msa_link_service().unlink(call.partner, call.caller)
    return no_content()


def _callback(call: Call, params: dict[str, str]) -> func.HttpResponse:
    from shared.errors import ProblemError
    from shared.services.msa_link import msa_link_service

    wants_html = "text/html" in (call.header("accept") or "")
    try:
        link, organisation = msa_link_service().finish(params)
    except ProblemError as error:
        if not wants_html:
            raise
        return _page(error.status, "Linking did not complete", error.detail)
    if wants_html:
        moved = " It is no longer linked to your previous organisation." if link.severed_partner_id else ""
        return _page(
            200,
            "Your Microsoft account is linked",
            f"Your Microsoft account is now linked to {organisation}.{moved} "
            "Your certifications count toward its competencies after the next nightly evaluation: allow 24 hours.",
        )
    return json_response(link.model_dump(by_alias=True, mode="json", exclude_none=True))


def _page(status: int, title: str, text: str) -> func.HttpResponse:
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>'
        f'{html.escape(title)}</title></head><body style="font-family:sans-serif;max-width:40em;margin:3em auto">'
        f'<h1>{html.escape(title)}</h1><p id="message">{html.escape(text)}</p></body></html>'
    )
    return func.HttpResponse(body, status_code=status, mimetype="text/html", charset="utf-8", headers=dict(HTML_HEADERS))


@endpoint(
    bp,
    "msa/callback",
    "GET",
    name="msa_callback",
    rule=PUBLIC,
    summary="Finish the MSA sign-in (bound to its state) and link the account",
    tags=["msa"],
    response="shared.services.msa_link:LinkOut",
    query={"code": "authorization code", "state": "the sign-in's state", "error": "error from the identity provider"},
    responses={400: "Unknown, expired or replayed state, or a sign-in error"},
)
def msa_callback(call: Call) -> func.HttpResponse:
    return _callback(call, {k: v for k, v in call.req.params.items()})


@endpoint(
    bp,
    "msa/callback",
    "POST",
    name="msa_callback_form_post",
    rule=PUBLIC,
    summary="Finish the MSA sign-in (response_mode=form_post)",
    tags=["msa"],
    request="shared.services.msa_link:LinkStartIn",
    request_types=["application/x-www-form-urlencoded"],
    response="shared.services.msa_link:LinkOut",
    responses={400: "Unknown, expired or replayed state, or a sign-in error"},
)
def msa_callback_form_post(call: Call) -> func.HttpResponse:
    from urllib.parse import parse_qsl

    from shared.errors import UnsupportedMediaType

    if call.content_type() != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType("The form-post callback takes application/x-www-form-urlencoded.")
    try:
        form = dict(parse_qsl(call.body_bytes(limit=65536).decode("utf-8"), keep_blank_values=True, max_num_fields=20))
    except (UnicodeDecodeError, ValueError):
        from shared.errors import BadRequest

        raise BadRequest("The form body is not valid.") from None
    return _callback(call, form)
