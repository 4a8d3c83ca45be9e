"""Evaluation: the nightly fan-out, one partner per queue message, on demand, the latest
result and its history."""

from __future__ import annotations

import azure.functions as func

from functions.http import Call, endpoint, json_response
from shared.auth import ROLE_OPERATOR, partner
from shared.queues import EVALUATE_PARTNER

bp = func.Blueprint()


@bp.function_name("nightly_evaluation")
@bp.timer_trigger(schedule="%EVALUATION_SCHEDULE%", arg_name="timer", run_on_startup=False, use_monitor=True)
def nightly_evaluation(timer: func.TimerRequest, context: func.Context = None) -> None:  # type: ignore[assignment]  # the worker binds an exact func.Context
    """Enqueue one message per partner and nothing else: scale-out is the queue's."""
    from shared.bootstrap import evaluation_service, partner_service
    from shared.telemetry import timer_run

    with timer_run("nightly_evaluation", context):
        evaluation_service().fan_out(partner_service().partner_ids())


@bp.function_name("evaluate_partner")
@bp.queue_trigger(arg_name="msg", queue_name=EVALUATE_PARTNER, connection="AzureWebJobsStorage")
def evaluate_partner(msg: func.QueueMessage, context: func.Context = None) -> None:  # type: ignore[assignment]  # the worker binds an exact func.Context
    from functions.messages import run_message
    from shared.bootstrap import evaluation_service
    from shared.services.evaluation import evaluate_message

    run_message(EVALUATE_PARTNER, msg, lambda body: evaluate_message(body, evaluation_service()), context)


@endpoint(
    bp,
    "partners/{partnerId}/evaluations",
    "POST",
    name="evaluate_now",
    rule=partner(roles=(ROLE_OPERATOR,)),
    summary="Evaluate the partner now",
    tags=["evaluation"],
    response="shared.services.evaluation:EvaluationOut",
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
    response="shared.services.evaluation:EvaluationOut",
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
    response="shared.services.evaluation:HistoryOut",
    query={"from": "First night (YYYY-MM-DD); default 30 days before to", "to": "Last night (YYYY-MM-DD); default today"},
)
def get_evaluation_history(call: Call) -> func.HttpResponse:
    from shared.bootstrap import evaluation_service

    return json_response(evaluation_service().history(call.partner_id, call.query_date("from"), call.query_date("to")))
