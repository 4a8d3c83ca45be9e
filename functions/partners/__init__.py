"""Partners: registering (or updating) one and reading it."""

from __future__ import annotations

import azure.functions as func

from functions.http import Call, endpoint, json_response
from shared.auth import ROLE_OPERATOR, partner, program

bp = func.Blueprint()

PARTNERS = "partners/{partnerId}"


@endpoint(
    bp,
    PARTNERS,
    "PUT",
    name="put_partner",
    rule=program(ROLE_OPERATOR),
    summary="Register or update a partner",
    tags=["partners"],
    request="shared.services.partners:PartnerIn",
    response="shared.services.partners:PartnerOut",
    status=200,
    responses={201: "Registered", 409: "The tenant belongs to another partner"},
)
def put_partner(call: Call) -> func.HttpResponse:
    from shared.bootstrap import partner_service
    from shared.services.partners import PartnerIn, validate_partner_id

    partner_id = validate_partner_id(call.path("partnerId"))
    saved, created = partner_service().register(partner_id, call.model(PartnerIn))
    return json_response(
        saved.to_api(),
        201 if created else 200,
        headers={"Location": f"/api/partners/{partner_id}"} if created else None,
    )


@endpoint(
    bp,
    PARTNERS,
    "GET",
    name="get_partner",
    rule=partner(members=True, roles=(ROLE_OPERATOR,)),
    summary="Read a partner",
    tags=["partners"],
    response="shared.services.partners:PartnerOut",
)
def get_partner(call: Call) -> func.HttpResponse:
    from shared.documents import Partner

    return json_response(Partner.from_doc(call.partner or {}).to_api())
