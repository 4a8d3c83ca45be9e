"""Azure Functions entry point: one FunctionApp registering one Blueprint per capability.

Importing this module must stay light (cold start): blueprints import only
``azure.functions`` and the HTTP layer; services and SDK clients load on first use. The
settings are validated here so that a bad setting stops start-up with its name.
"""

from __future__ import annotations

import azure.functions as func

from functions import add_users, alerts, associate_msa, evaluate, platform
from shared.logs import install_redaction
from shared.settings import get_settings

get_settings()  # fail fast: a bad setting stops start-up, naming it
install_redaction()

BLUEPRINTS = (add_users.bp, associate_msa.bp, evaluate.bp, alerts.bp, platform.bp)

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
for blueprint in BLUEPRINTS:
    app.register_functions(blueprint)
