"""The catalog, program feeds, evaluation (nightly fan-out, one partner per queue message,
on demand), results, membership, overrides and the skills report."""

from __future__ import annotations

import azure.functions as func

from functions.http import Call, csv_attachment, endpoint, json_response
from shared.auth import AUTHENTICATED, ROLE_FEED, ROLE_OPERATOR, partner, program

bp = func.Blueprint()


@endpoint(
    bp,
    "competencies",
    "GET",
    name="get_catalog",
    rule=AUTHENTICATED,
    summary="The competency catalog: competencies, levels, paths, requirements",
    tags=["catalog"],
    response="shared.domain.catalog:CATALOG_SCHEMA",
)
def get_catalog(call: Call) -> func.HttpResponse:
    from shared.bootstrap import container

    return json_response(container().catalog.to_api(), headers={"Cache-Control": "private, max-age=300"})


@bp.function_name("nightly_evaluation")
@bp.timer_trigger(schedule="%EVALUATION_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
def nightly_evaluation(timer: func.TimerRequest, context: func.Context = None) -> None:  # type: ignore[assignment]
    """Enqueue one message per partner and nothing else: scale-out is the queue's."""
    from shared.bootstrap import evaluation_service, partner_service
    from shared.telemetry import timer_run

    with timer_run("nightly_evaluation", context):
        evaluation_service().fan_out(partner_service().partner_ids())


@bp.function_name("evaluate_partner")
@bp.queue_trigger(arg_name="msg", queue_name="evaluate-partner", connection="AzureWebJobsStorage")
def evaluate_partner(msg: func.QueueMessage, context: func.Context = None) -> None:  # type: ignore[assignment]
    from functions.messages import run_message
    from shared.bootstrap import evaluation_service, partner_service
    from shared.services.evaluation import evaluate_message

    run_message("evaluate-partner", msg, lambda body: evaluate_message(body, partner_service(), evaluation_service()), context)


@endpoint(
    bp,
    "partners/{partnerId}/evaluations",
    "POST",
    name="evaluate_now",
    rule=partner(roles=(ROLE_OPERATOR,)),
    summary="Evaluate the partner now",
    tags=["evaluation"],
    response="shared.domain.evaluation:EVALUATION_SCHEMA",
)
def evaluate_now(call: Call) -> func.HttpResponse:
    from shared.bootstrap import evaluation_service

    return json_response(evaluation_service().evaluate_partner(call.partner_id))


@endpoint(
    bp,
    "partners/{partnerId}/competencies",
    "GET",
    name="get_evaluation",
    rule=partner(members=True, roles=(ROLE_OPERATOR,)),
    summary="The latest evaluation of the partner's competencies",
    tags=["evaluation"],
    response="shared.domain.evaluation:EVALUATION_SCHEMA",
)
def get_evaluation(call: Call) -> func.HttpResponse:
    from shared.bootstrap import evaluation_service

    return json_response(evaluation_service().latest(call.partner_id))


@endpoint(
    bp,
    "partners/{partnerId}/competencies/history",
    "GET",
    name="get_evaluation_history",
    rule=partner(members=True, roles=(ROLE_OPERATOR,)),
    summary="Progress over time: per night, each competency's level and each requirement's value",
    tags=["evaluation"],
    response="shared.services.evaluation:HISTORY_SCHEMA",
    query={"from": "First night (YYYY-MM-DD); default 30 days before to", "to": "Last night (YYYY-MM-DD); default today"},
)
def get_evaluation_history(call: Call) -> func.HttpResponse:
    from shared.bootstrap import evaluation_service

    return json_response(evaluation_service().history(call.partner_id, call.query_date("from"), call.query_date("to")))


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
    from shared.services.feeds import AchievementsIn

    body = call.model(AchievementsIn, limit=2_000_000)
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


@endpoint(
    bp,
    "partners/{partnerId}/skills-report",
    "GET",
    name="skills_report",
    rule=partner(admin=True),
    summary="Who holds what: one CSV row per person and achievement",
    tags=["evaluation"],
    response="functions.schemas:CSV",
    response_type="text/csv",
)
def skills_report(call: Call) -> func.HttpResponse:
    from shared.bootstrap import evaluation_service, program_service
    from shared.errors import NotFound

    try:
        latest = evaluation_service().latest(call.partner_id)
    except NotFound:
        latest = None
    report = program_service().skills_report(call.partner_id, latest)
    return csv_attachment(report, f"skills-report-{call.partner_id}.csv")


@endpoint(
    bp,
    "partners/{partnerId}/membership",
    "GET",
    name="get_membership",
    rule=partner(members=True, roles=(ROLE_OPERATOR,)),
    summary="Membership: level, subscription year, eligibility, business profile",
    tags=["membership"],
    response="shared.domain.membership:MEMBERSHIP_SCHEMA",
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
    response="shared.domain.membership:MEMBERSHIP_SCHEMA",
    status=201,
    responses={409: "Not eligible: the problem names the gap"},
)
def buy_membership(call: Call) -> func.HttpResponse:
    from shared.bootstrap import membership_service
    from shared.services.membership import MembershipIn

    assert call.caller is not None
    view = membership_service().buy(call.partner_id, call.model(MembershipIn), actor=call.caller.actor)
    return json_response(view, 201, headers={"Location": f"/api/partners/{call.partner_id}/membership"})
