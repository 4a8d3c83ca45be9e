"""The services' answers are what their models (and so the published contract) describe: a
partner's whole day, from the import of its employees to its alerts, each answer checked
against its model unchanged and against the schema of the OpenAPI document."""

from __future__ import annotations

from datetime import timedelta

from shared import bootstrap
from shared.api_models import CatalogOut
from shared.services.alerts import AlertListOut, AlertOut
from shared.services.designations import DesignationsOut, PartnerDesignationOut
from shared.services.evaluation import EvaluationOut, HistoryOut
from shared.services.health import HealthOut, health_report
from shared.services.membership import MembershipIn, MembershipOut
from shared.services.users_api import ImportOut, UsersOut
from tests.unit.services.conftest import TODAY, Suite
from tests.unit.test_answer_models import holds


def test_a_partners_answers_are_what_their_models_describe(suite: Suite) -> None:
    partner = suite.partner("p1")
    users = bootstrap.users_service(suite.c)
    imported, _ = users.start_import(partner, [{"displayName": "Ada Lovelace", "email": "ada@p1.example"}], idempotency_key=None, actor="a")
    holds(ImportOut, imported)
    for n in range(2):
        linked = suite.link(partner, f"u{n}", f"person{n}@outlook.example")
        suite.achievement(linked.msa_id, expires=(TODAY + timedelta(days=20)).isoformat() if n else None)
    suite.revenue("p1", 20_000)
    holds(UsersOut, users.list_users("p1"))

    holds(EvaluationOut, suite.evaluation.evaluate_partner("p1"))
    holds(HistoryOut, suite.evaluation.history("p1", None, None))
    holds(MembershipOut, suite.membership.view("p1"))
    holds(MembershipOut, suite.membership.buy("p1", MembershipIn(level="silver"), actor="admin@p1.example"))

    designations = bootstrap.designation_service(suite.c)
    view = designations.view("p1")
    holds(DesignationsOut, view)
    holds(PartnerDesignationOut, designations.view("p1", view["designations"][0]["designationId"]))

    alerts = bootstrap.alert_service(suite.c)
    raised = alerts.list("p1")
    assert raised, "the purchase and the evaluation raised alerts"
    holds(AlertListOut, {"partnerId": "p1", "alerts": raised})
    holds(AlertOut, alerts.retry("p1", raised[0]["id"]).to_api())

    holds(CatalogOut, suite.c.catalog.to_api())
    holds(HealthOut, health_report(lambda: suite.c.queue, suite.c.settings))
