"""Program feeds: achievements keyed by MSA and a partner's performance figures."""

from __future__ import annotations

import azure.functions as func

from functions.http import Call, endpoint, json_response
from shared.auth import ROLE_FEED, partner, program

bp = func.Blueprint()


@endpoint(
    bp,
    "achievements",
    "POST",
    name="post_achievements",
    rule=program(ROLE_FEED),
    summary="Feed certifications, exams and assessments keyed by MSA (idempotent)",
    tags=["feeds"],
    request="shared.services.feeds:AchievementsIn",
    response="shared.services.feeds:AchievementsOut",
)
def post_achievements(call: Call) -> func.HttpResponse:
    from shared.bootstrap import feed_service
    from shared.services.feeds import MAX_ACHIEVEMENTS_BODY_BYTES, AchievementsIn

    body = call.model(AchievementsIn, limit=MAX_ACHIEVEMENTS_BODY_BYTES)
    return json_response(feed_service().post_achievements(body.achievements).model_dump(by_alias=True))


@endpoint(
    bp,
    "partners/{partnerId}/performance",
    "PUT",
    name="put_performance",
    rule=partner(roles=(ROLE_FEED,)),
    summary="Feed performance figures of the partner as of a date",
    tags=["feeds"],
    request="shared.services.feeds:PerformanceIn",
    response="shared.services.feeds:PerformanceOut",
)
def put_performance(call: Call) -> func.HttpResponse:
    from shared.bootstrap import feed_service
    from shared.services.feeds import PerformanceIn

    result = feed_service().put_performance(call.partner_id, call.model(PerformanceIn))
    return json_response(result.model_dump(by_alias=True, mode="json"))
