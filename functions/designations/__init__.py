"""Solutions Partner designations: the catalog, the customer-facts feed, the partner's
designations with their capability score, the score simulator and enrolment."""

from __future__ import annotations

import azure.functions as func

from functions.http import Call, endpoint, json_response
from shared.auth import AUTHENTICATED, ROLE_FEED, ROLE_OPERATOR, partner

bp = func.Blueprint()


@endpoint(
    bp,
    "designations",
    "GET",
    name="get_designation_catalog",
    rule=AUTHENTICATED,
    summary="The Solutions Partner designations: tracks, metrics, points, thresholds, associations, sources",
    tags=["designations"],
    response="shared.services.designations:DesignationCatalogOut",
)
def get_designation_catalog(call: Call) -> func.HttpResponse:
    from shared.bootstrap import designation_service

    return json_response(designation_service().catalog_view(), headers={"Cache-Control": "private, max-age=300"})


@endpoint(
    bp,
    "partners/{partnerId}/customer-facts/{month}",
    "PUT",
    name="put_customer_facts",
    rule=partner(roles=(ROLE_FEED,)),
    summary="Feed one month of customer facts (per tenant and workload, with the association); the newest feed of a month wins",
    tags=["feeds", "designations"],
    request="shared.services.designations:CustomerFactsIn",
    response="shared.services.designations:CustomerFactsOut",
)
def put_customer_facts(call: Call) -> func.HttpResponse:
    from shared.bootstrap import designation_service
    from shared.services.designations import MAX_FACTS_BODY_BYTES, CustomerFactsIn

    body = call.model(CustomerFactsIn, limit=MAX_FACTS_BODY_BYTES)
    result = designation_service().put_customer_facts(call.partner_id, call.path("month"), body)
    return json_response(result.model_dump(by_alias=True, mode="json"))


@endpoint(
    bp,
    "partners/{partnerId}/designations",
    "GET",
    name="get_designations",
    rule=partner(members=True, roles=(ROLE_OPERATOR,)),
    summary="The partner's designations: score, metrics, track, window, status, history, points needed",
    tags=["designations"],
    response="shared.services.designations:DesignationsOut",
)
def get_designations(call: Call) -> func.HttpResponse:
    from shared.bootstrap import designation_service

    return json_response(designation_service().view(call.partner_id))


@endpoint(
    bp,
    "partners/{partnerId}/designations/{designationId}",
    "GET",
    name="get_designation",
    rule=partner(members=True, roles=(ROLE_OPERATOR,)),
    summary="One designation of the partner",
    tags=["designations"],
    response="shared.services.designations:PartnerDesignationOut",
)
def get_designation(call: Call) -> func.HttpResponse:
    from shared.bootstrap import designation_service

    return json_response(designation_service().view(call.partner_id, call.path("designationId")))


@endpoint(
    bp,
    "partners/{partnerId}/designation-simulations",
    "POST",
    name="simulate_designations",
    rule=partner(members=True, roles=(ROLE_OPERATOR,)),
    summary="Score simulator: the score with hypothetical certifications and customers (stores nothing)",
    tags=["designations"],
    request="shared.services.designations:SimulationIn",
    response="shared.services.designations:SimulationOut",
)
def simulate_designations(call: Call) -> func.HttpResponse:
    from shared.bootstrap import designation_service
    from shared.services.designations import SimulationIn

    return json_response(designation_service().simulate(call.partner_id, call.model(SimulationIn)))


@endpoint(
    bp,
    "partners/{partnerId}/designations/{designationId}/enrolment",
    "POST",
    name="enrol_designation",
    rule=partner(admin=True),
    summary="Enrol (or renew) a qualified designation; designations share the first one's anniversary",
    tags=["designations", "membership"],
    response="shared.services.designations:EnrolmentOut",
    status=201,
    responses={409: "Not qualified in the window: the problem names what is missing"},
)
def enrol_designation(call: Call) -> func.HttpResponse:
    from shared.bootstrap import designation_service

    assert call.caller is not None
    out, changed = designation_service().enrol(call.partner_id, call.path("designationId"), actor=call.caller.actor)
    return json_response(out.model_dump(by_alias=True, mode="json"), 201 if changed else 200)
