"""Membership: the benefit pack (read, buy, renew, upgrade) and achievement overrides."""

from __future__ import annotations

import azure.functions as func

from functions.http import Call, endpoint, json_response
from shared.auth import ROLE_OPERATOR, partner

bp = func.Blueprint()


@endpoint(
    bp,
    "partners/{partnerId}/membership",
    "GET",
    name="get_membership",
    rule=partner(members=True, roles=(ROLE_OPERATOR,)),
    summary="Membership: level, subscription year, eligibility, business profile",
    tags=["membership"],
    response="shared.services.membership:MembershipOut",
)
def get_membership(call: Call) -> func.HttpResponse:
    from shared.bootstrap import membership_service

    return json_response(membership_service().view(call.partner_id))


@endpoint(
    bp,
    "partners/{partnerId}/membership",
    "POST",
    name="buy_membership",
    rule=partner(admin=True),
    summary="Buy, renew or upgrade the silver or gold benefit pack",
    tags=["membership"],
    request="shared.services.membership:MembershipIn",
    response="shared.services.membership:MembershipOut",
    status=201,
    responses={409: "Not eligible: the problem names the gap"},
)
def buy_membership(call: Call) -> func.HttpResponse:
    from shared.bootstrap import membership_service
    from shared.services.membership import MembershipIn

    assert call.caller is not None
    view = membership_service().buy(call.partner_id, call.model(MembershipIn), actor=call.caller.actor)
    return json_response(view, 201, headers={"Location": f"/api/partners/{call.partner_id}/membership"})


@endpoint(
    bp,
    "partners/{partnerId}/overrides/{overrideId}",
    "PUT",
    name="put_override",
    rule=partner(roles=(ROLE_OPERATOR,)),
    summary="Grant or change an achievement override (audited; default 3 months)",
    tags=["membership"],
    request="shared.services.overrides_and_skills_report:OverrideIn",
    response="shared.services.overrides_and_skills_report:OverrideOut",
    responses={201: "Granted"},
)
def put_override(call: Call) -> func.HttpResponse:
    from shared.bootstrap import program_service
    from shared.services.overrides_and_skills_report import OverrideIn

    assert call.caller is not None
    override, created = program_service().put_override(
        call.partner_id, call.path("overrideId"), call.model(OverrideIn), actor=call.caller.actor
    )
    return json_response(override.model_dump(by_alias=True, mode="json"), 201 if created else 200)
