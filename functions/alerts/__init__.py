"""Alerts: delivery to Logic Apps (CloudEvents), the sweep, the listing and a manual retry."""

from __future__ import annotations

import azure.functions as func

from functions.http import Call, endpoint, json_response
from shared.auth import ROLE_OPERATOR, partner
from shared.queues import DISPATCH_ALERTS
from shared.schedules import ALERT_SWEEP

bp = func.Blueprint()


@bp.function_name("dispatch_alert")
@bp.queue_trigger(arg_name="msg", queue_name=DISPATCH_ALERTS, connection="AzureWebJobsStorage")
def dispatch_alert(msg: func.QueueMessage, context: func.Context = None) -> None:  # type: ignore[assignment]  # the worker binds an exact func.Context
    from functions.messages import run_message
    from shared.bootstrap import alert_service
    from shared.services.alerts import dispatch_message

    run_message(DISPATCH_ALERTS, msg, lambda body: dispatch_message(body, alert_service()), context)


@bp.function_name("sweep_alerts")
@bp.timer_trigger(schedule=ALERT_SWEEP, arg_name="timer", run_on_startup=False, use_monitor=False)
def sweep_alerts(timer: func.TimerRequest, context: func.Context = None) -> None:  # type: ignore[assignment]  # the worker binds an exact func.Context
    """Pending alerts whose dispatch message was lost, and failed alerts due for their slow
    retry, are dispatched again."""
    from shared.bootstrap import alert_service
    from shared.telemetry import timer_run

    with timer_run("sweep_alerts", context):
        alert_service().sweep()


@endpoint(
    bp,
    "partners/{partnerId}/alerts",
    "GET",
    name="list_alerts",
    rule=partner(admin=True, roles=(ROLE_OPERATOR,)),
    summary="Alerts of the partner with their delivery state",
    tags=["alerts"],
    response="shared.services.alerts:AlertListOut",
    query={"state": "pending, delivered or failed"},
)
def list_alerts(call: Call) -> func.HttpResponse:
    from shared.bootstrap import alert_service
    from shared.errors import ValidationFailed

    state = call.query("state")
    if state not in (None, "pending", "delivered", "failed"):
        raise ValidationFailed("state must be pending, delivered or failed.")
    return json_response({"partnerId": call.partner_id, "alerts": alert_service().list(call.partner_id, state=state)})


@endpoint(
    bp,
    "partners/{partnerId}/alerts/{alertId}/retry",
    "POST",
    name="retry_alert",
    rule=partner(roles=(ROLE_OPERATOR,)),
    summary="Deliver a failed alert again",
    tags=["alerts"],
    status=202,
    response="shared.services.alerts:AlertOut",
    responses={409: "The alert was delivered already"},
)
def retry_alert(call: Call) -> func.HttpResponse:
    from shared.bootstrap import alert_service

    return json_response(alert_service().retry(call.partner_id, call.path("alertId")).to_api(), 202)
