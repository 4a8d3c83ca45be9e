"""The shipped Logic App reads what the suite sends: a base64 queue message holding a
CloudEvent whose data is the alert."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from shared.services.alerts import AlertDoc

WORKFLOW = Path(__file__).resolve().parents[2] / "logicapp" / "workflow.json"


def test_the_workflow_parses_the_cloud_events_the_dispatcher_sends() -> None:
    definition = json.loads(WORKFLOW.read_text())["definition"]
    trigger = definition["triggers"]["When_an_alert_is_queued"]
    assert trigger["type"] == "ApiConnection"
    parse = definition["actions"]["Parse_CloudEvent"]
    assert "base64ToString(triggerBody()?['MessageText'])" in parse["inputs"]["content"]
    schema = parse["inputs"]["schema"]
    doc = AlertDoc(
        id=AlertDoc.doc_id("a1"),
        alert_id="a1",
        alert_type="competency.renewal.atrisk",
        partner_id="p1",
        competency_id="cloud-platform",
        level="silver",
        title="t",
        detail="d",
        cause="employeeLeft",
        raised_at=datetime(2026, 11, 25, 2, tzinfo=UTC),
    )
    event = doc.cloud_event()
    assert set(schema["required"]) <= set(event)
    for name, spec in schema["properties"].get("data", {}).get("properties", {}).items():
        if name in schema["properties"]["data"].get("required", []):
            assert name in event["data"], name
            assert spec["type"] != "string" or isinstance(event["data"][name], str)
