"""The skills report: who holds what, and what it counts toward (CSV)."""

from __future__ import annotations

import azure.functions as func

from functions.http import Call, csv_attachment, endpoint
from shared.auth import partner

bp = func.Blueprint()


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
