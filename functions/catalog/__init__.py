"""The competency catalog: competencies, levels, paths and requirements."""

from __future__ import annotations

import azure.functions as func

from functions.http import Call, endpoint, json_response
from shared.auth import AUTHENTICATED

bp = func.Blueprint()


@endpoint(
    bp,
    "competencies",
    "GET",
    name="get_catalog",
    rule=AUTHENTICATED,
    summary="The competency catalog: competencies, levels, paths, requirements",
    tags=["catalog"],
    response="shared.api_models:CatalogOut",
)
def get_catalog(call: Call) -> func.HttpResponse:
    from shared.bootstrap import container

    return json_response(container().catalog.to_api(), headers={"Cache-Control": "private, max-age=300"})
