"""Azure Functions entry point: one FunctionApp registering one Blueprint per capability.

Importing this module must stay light (cold start): blueprints import only
``azure.functions`` and the HTTP layer; services and SDK clients load on first use. The
settings are validated here so that a bad setting stops start-up with its name; in Azure
(``WEBSITE_INSTANCE_ID`` or ``WEBSITE_SITE_NAME`` set) a configuration that would run on the
embedded store, accept any tenant's program roles or use a development credential stops
start-up too, naming every such setting. Telemetry (OpenTelemetry to Application Insights)
is configured only when ``APPLICATIONINSIGHTS_CONNECTION_STRING`` is set, importing the
exporter then and only then.
"""

from __future__ import annotations

import azure.functions as func

from functions import (
    add_users,
    alerts,
    associate_msa,
    catalog,
    designations,
    evaluate,
    feeds,
    membership,
    partners,
    platform,
    skills_report,
)
from shared.logs import install_redaction
from shared.settings import check_deployment, get_settings
from shared.telemetry import configure_telemetry

check_deployment(get_settings())  # fail fast: a bad or unsafe setting stops start-up, naming it
configure_telemetry(get_settings())  # before the redaction: its log handler gets the filter too
install_redaction()

BLUEPRINTS = (
    partners.bp,
    add_users.bp,
    associate_msa.bp,
    catalog.bp,
    feeds.bp,
    evaluate.bp,
    membership.bp,
    skills_report.bp,
    designations.bp,
    alerts.bp,
    platform.bp,
)

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
for blueprint in BLUEPRINTS:
    app.register_functions(blueprint)
