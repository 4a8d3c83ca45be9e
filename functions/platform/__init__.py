"""Operations of the platform itself: liveness, the OpenAPI document, the problem fallback."""

from __future__ import annotations

import azure.functions as func

from functions.http import Call, endpoint, json_response, problem_response, unmatched
from shared.auth import PUBLIC
from shared.logs import new_correlation_id

bp = func.Blueprint()


@endpoint(
    bp,
    "health",
    "GET",
    name="health",
    rule=PUBLIC,
    summary="Liveness, and messages parked in the poison queues",
    tags=["platform"],
    response="functions.schemas:HEALTH",
)
def health(call: Call) -> func.HttpResponse:
    from shared.services.health import health_report

    return json_response(health_report())


@endpoint(
    bp,
    "openapi.json",
    "GET",
    name="openapi",
    rule=PUBLIC,
    summary="This API as an OpenAPI 3.1 document",
    tags=["platform"],
    response="functions.schemas:OPENAPI",
)
def openapi(call: Call) -> func.HttpResponse:
    from functions.openapi import published_document

    return func.HttpResponse(
        published_document(),
        status_code=200,
        mimetype="application/json",
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


@bp.function_name("fallback")
@bp.route(
    route="{*path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
    auth_level=func.AuthLevel.ANONYMOUS,
)
def fallback(req: func.HttpRequest) -> func.HttpResponse:
    """Unknown routes and methods answer with a problem, like every other error."""
    cid = new_correlation_id(req.headers.get("x-correlation-id"))
    response = problem_response(unmatched(req.route_params.get("path") or "", req.method), cid=cid)
    response.headers["X-Correlation-Id"] = cid
    return response
