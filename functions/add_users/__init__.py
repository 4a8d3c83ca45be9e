"""Employees of a partner: adding users (single, bulk CSV), imports and their background
continuation, the one-time log file, listing users, and removing a user who leaves."""

from __future__ import annotations

import azure.functions as func

from functions.http import Call, csv_attachment, endpoint, json_response
from shared.auth import partner
from shared.queues import IMPORT_USERS
from shared.schedules import IMPORT_LOG_SWEEP, STALLED_IMPORT_SWEEP

bp = func.Blueprint()

PARTNERS = "partners/{partnerId}"


@endpoint(
    bp,
    f"{PARTNERS}/users",
    "POST",
    name="add_users",
    rule=partner(admin=True),
    summary="Add users: one or many (JSON), or a CSV export; per-row results",
    tags=["users"],
    request="shared.services.users_api:UsersIn",
    request_types=("application/json", "text/csv"),
    response="shared.services.users_api:ImportOut",
    status=201,
    responses={
        202: "Accepted: a large import continues in the background",
        403: "The caller lacks the needed role, or the partner's directory has not consented to the suite (directory-consent-missing)",
        409: "Idempotency-Key reused for another request, or the tenant has no verified managed domain (no-managed-domain)",
    },
    headers={"Idempotency-Key": "Retrying with the same key returns the same import and creates nothing twice"},
)
def add_users(call: Call) -> func.HttpResponse:
    from shared.bootstrap import container, users_service

    service = users_service()
    limit = container().settings.import_max_body_bytes
    if call.content_type() in ("text/csv", "application/csv"):
        items = service.rows_from_csv(call.body_bytes(limit=limit))
    else:
        items = service.rows_from_json(call.json(limit=limit))
    assert call.caller is not None and call.partner is not None
    view, finished = service.start_import(call.partner, items, idempotency_key=call.header("Idempotency-Key"), actor=call.caller.actor)
    headers = {"Location": f"/api/partners/{call.partner_id}/imports/{view['importId']}"}
    if not finished:
        headers["Retry-After"] = str(min(60, max(5, view["counts"]["pending"] // 200)))  # about 200 rows per second
    return json_response(view, 201 if finished else 202, headers=headers)


@endpoint(
    bp,
    f"{PARTNERS}/imports/{{importId}}",
    "GET",
    name="get_import",
    rule=partner(admin=True),
    summary="An import: progress (counts per status) and per-row results",
    tags=["users"],
    response="shared.services.users_api:ImportOut",
)
def get_import(call: Call) -> func.HttpResponse:
    from shared.bootstrap import users_service

    return json_response(users_service().get_import(call.partner_id, call.path("importId")))


@endpoint(
    bp,
    f"{PARTNERS}/imports/{{importId}}/log",
    "GET",
    name="get_import_log",
    rule=partner(admin=True),
    summary="The one-time log file with the temporary passwords (then 410)",
    tags=["users"],
    response="functions.schemas:CSV",
    response_type="text/csv",
    responses={410: "Already downloaded or expired", 409: "The import is still running"},
)
def get_import_log(call: Call) -> func.HttpResponse:
    from shared.bootstrap import users_service

    import_id = call.path("importId")
    content = users_service().download_log(call.partner_id, import_id)
    return csv_attachment(content, f"import-{import_id}-log.csv")


@endpoint(
    bp,
    f"{PARTNERS}/users",
    "GET",
    name="list_users",
    rule=partner(admin=True),
    summary="The partner's users with their MSA link state",
    tags=["users"],
    response="shared.services.users_api:UsersOut",
)
def list_users(call: Call) -> func.HttpResponse:
    from shared.bootstrap import users_service

    return json_response(users_service().list_users(call.partner_id))


@endpoint(
    bp,
    f"{PARTNERS}/users/{{userId}}",
    "DELETE",
    name="remove_user",
    rule=partner(admin=True),
    summary="The employee leaves: departed and no longer counted; the directory account is deleted only if the suite created it",
    tags=["users"],
    status=204,
)
def remove_user(call: Call) -> func.HttpResponse:
    """204 as the contract fixes it; the ``Directory-Account`` header says whether the
    directory account was deleted (the suite created it) or kept."""
    from functions.http import no_content
    from shared.bootstrap import users_service

    assert call.partner is not None
    removed = users_service().remove_user(call.partner, call.path("userId"))
    return no_content(headers={"Directory-Account": removed.directory_account})


@bp.function_name("import_users")
@bp.queue_trigger(arg_name="msg", queue_name=IMPORT_USERS, connection="AzureWebJobsStorage")
def import_users(msg: func.QueueMessage, context: func.Context = None) -> None:  # type: ignore[assignment]  # the worker binds an exact func.Context
    """Large imports continue here; a redelivered message resumes the same plan."""
    from functions.messages import run_message
    from shared.bootstrap import partner_service, users_service
    from shared.services.user_import_queue import import_message

    run_message(IMPORT_USERS, msg, lambda body: import_message(body, partner_service(), users_service()), context)


@bp.function_name("sweep_import_logs")
@bp.timer_trigger(schedule=IMPORT_LOG_SWEEP, arg_name="timer", run_on_startup=False, use_monitor=True)
def sweep_import_logs(timer: func.TimerRequest, context: func.Context = None) -> None:  # type: ignore[assignment]  # the worker binds an exact func.Context
    """Erase the passwords of log files past their expiry, downloaded or not."""
    from shared.bootstrap import users_service
    from shared.telemetry import timer_run

    with timer_run("sweep_import_logs", context):
        users_service().sweep_logs()


@bp.function_name("resume_imports")
@bp.timer_trigger(schedule=STALLED_IMPORT_SWEEP, arg_name="timer", run_on_startup=False, use_monitor=False)
def resume_imports(timer: func.TimerRequest, context: func.Context = None) -> None:  # type: ignore[assignment]  # the worker binds an exact func.Context
    """Running imports that made no progress for IMPORT_STALL_SECONDS continue again
    (their queue message was never sent, or was lost)."""
    from shared.bootstrap import users_service
    from shared.telemetry import timer_run

    with timer_run("resume_imports", context):
        users_service().resume_stalled()
