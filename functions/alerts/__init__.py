"""Alerts: delivery to Logic Apps (CloudEvents) and the alert listing."""

from __future__ import annotations

import azure.functions as func

bp = func.Blueprint()
