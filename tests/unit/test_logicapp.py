"""The shipped Logic App reads what the suite sends: a base64 queue message holding a
CloudEvent whose data is the alert."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.documents import AlertDoc

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


# --- the workflow's control flow, run as Logic Apps runs it ----------------------------------
# An action runs once every action in its runAfter has finished with one of the listed
# statuses, and is Skipped otherwise; an If runs one branch and fails when an action in it
# failed; Terminate ends the run. Connector
# outcomes are given per action; everything else succeeds.

Outcome = tuple[str, int]  # (status, HTTP status code of the connector call)


class Run:
    def __init__(self, outcomes: dict[str, Outcome], dequeue_count: int) -> None:
        self.outcomes = outcomes
        self.dequeue_count = dequeue_count
        self.statuses: dict[str, str] = {}
        self.codes: dict[str, int] = {}
        self.terminated: str | None = None

    def value(self, operand: object, parameters: dict[str, object]) -> object:
        if not isinstance(operand, str) or not operand.startswith("@"):
            return operand
        if operand == "@int(triggerBody()?['DequeueCount'])":
            return self.dequeue_count
        match = re.fullmatch(r"@outputs\('(\w+)'\)\?\['statusCode'\]", operand)
        if match:
            return self.codes[match.group(1)]
        match = re.fullmatch(r"@parameters\('(\w+)'\)", operand)
        if match:
            return parameters[match.group(1)]
        raise AssertionError(f"expression the test cannot evaluate: {operand}")

    def condition(self, expression: dict, parameters: dict[str, object]) -> bool:
        results = []
        for clause in expression["and"]:
            (op, (left, right)), *_ = clause.items()
            a, b = self.value(left, parameters), self.value(right, parameters)
            results.append({"equals": a == b, "greater": a > b}[op])  # type: ignore[operator]
        return all(results)

    def scope(self, actions: dict[str, dict], parameters: dict[str, object]) -> None:
        pending = dict(actions)
        while pending and self.terminated is None:
            ready = [n for n, a in pending.items() if all(p in self.statuses for p in a.get("runAfter", {}))]
            assert ready, f"cycle or dangling runAfter among {sorted(pending)}"
            name = ready[0]
            action = pending.pop(name)
            if not all(self.statuses[p] in allowed for p, allowed in action.get("runAfter", {}).items()):
                self.statuses[name] = "Skipped"
                continue
            if action["type"] == "If":
                branch = action["actions"] if self.condition(action["expression"], parameters) else action["else"]["actions"]
                self.scope(branch, parameters)
                failed = any(self.statuses.get(inner) in ("Failed", "TimedOut") for inner in branch)
                self.statuses[name] = "Failed" if failed else "Succeeded"
            elif action["type"] == "Terminate":
                self.statuses[name] = "Succeeded"
                self.terminated = action["inputs"]["runStatus"]
            else:
                status, code = self.outcomes.get(name, ("Succeeded", 200))
                self.statuses[name], self.codes[name] = status, code

    def ran(self, name: str) -> bool:
        return self.statuses.get(name) == "Succeeded"


def run_workflow(outcomes: dict[str, Outcome] | None = None, dequeue_count: int = 1) -> Run:
    definition = json.loads(WORKFLOW.read_text())["definition"]
    parameters = {name: spec.get("defaultValue") for name, spec in definition["parameters"].items()}
    run = Run(outcomes or {}, dequeue_count)
    run.scope(definition["actions"], parameters)
    return run


def deleted(run: Run) -> bool:
    return any(run.ran(name) for name in ("Delete_message", "Delete_duplicate_message", "Delete_poisoned_message"))


def test_a_new_alert_is_emailed_once_and_its_message_deleted() -> None:
    run = run_workflow({"Remember_event_id": ("Succeeded", 201)})
    assert run.ran("Email_the_partner_admin") and run.ran("Delete_message")
    assert run.terminated is None


def test_only_a_409_on_the_dedup_insert_means_already_seen() -> None:
    duplicate = run_workflow({"Remember_event_id": ("Failed", 409)})
    assert not duplicate.ran("Email_the_partner_admin")
    assert duplicate.ran("Delete_duplicate_message")


@pytest.mark.parametrize("outcome", [("Failed", 500), ("Failed", 503), ("Failed", 429), ("Failed", 403), ("TimedOut", 0)])
def test_any_other_dedup_failure_leaves_the_message_for_a_retry(outcome: Outcome) -> None:
    run = run_workflow({"Remember_event_id": outcome})
    assert not run.ran("Email_the_partner_admin")
    assert not deleted(run), "the alert would be lost"
    assert run.terminated == "Failed"


@pytest.mark.parametrize("status", ["Failed", "TimedOut"])
def test_a_failed_email_forgets_the_id_and_keeps_the_message(status: str) -> None:
    run = run_workflow({"Remember_event_id": ("Succeeded", 201), "Email_the_partner_admin": (status, 500)})
    assert run.ran("Forget_event_id_if_the_email_failed")
    assert not deleted(run)
    assert run.terminated == "Failed"


def test_a_message_delivered_too_often_moves_to_the_poison_queue() -> None:
    run = run_workflow({"Remember_event_id": ("Failed", 500)}, dequeue_count=6)
    assert run.ran("Copy_to_poison_queue") and run.ran("Delete_poisoned_message")
    assert not run.ran("Email_the_partner_admin")


def test_a_failed_poison_copy_keeps_the_message() -> None:
    run = run_workflow({"Copy_to_poison_queue": ("Failed", 500)}, dequeue_count=6)
    assert not deleted(run)


def test_the_event_types_the_workflow_names_are_the_ones_the_suite_emits() -> None:
    from shared.domain import alert_rules

    emitted = {alert_rules.TYPE_AT_RISK, alert_rules.TYPE_EXPIRING, alert_rules.TYPE_ATTAINED}
    named = set(re.findall(r"competency\.[a-z]+\.[a-z]+", WORKFLOW.read_text()))
    assert named and named <= emitted, named - emitted
    schema_types = json.loads(WORKFLOW.read_text())["definition"]["actions"]["Parse_CloudEvent"]["inputs"]["schema"]
    assert schema_types["properties"]["type"]["type"] == "string"
