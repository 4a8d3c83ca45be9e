"""Operations of the platform itself: liveness and the OpenAPI document.

There is no catch-all route: the Functions host tries routes in function-name order and the
first match wins, so a catch-all would answer for every function named after it. Unknown
paths and methods get the host's own 404.
"""

from __future__ import annotations

import azure.functions as func

from functions.http import Call, endpoint, json_response
from shared.auth import PUBLIC

bp = func.Blueprint()


@endpoint(
    bp,
    "health",
    "GET",
    name="health",
    rule=PUBLIC,
    summary="Liveness, and messages parked in the poison queues",
    tags=["platform"],
    response="shared.services.health:HealthOut",
)
def health(call: Call) -> func.HttpResponse:
    from shared.bootstrap import container
    from shared.services.health import health_report

    c = container()
    return json_response(health_report(lambda: c.queue, c.settings))


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
