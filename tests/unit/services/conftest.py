"""Each service as the triggers get it: through the composition root (``shared.bootstrap``),
on the embedded store in a temporary folder, with a fixed clock and fakes of the outside
systems. No HTTP, no server: a test here pins a service's rules as a user would notice them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from shared import bootstrap
from shared.auth import Caller
from shared.services.msa_sign_in_flow import LinkCompleteIn, LinkOut, LinkStartIn
from shared.services.partners import PartnerIn
from shared.settings import Settings
from tests.fakes import FakeDirectory, FakeSignIn, FixedClock, RecordingSink

T0 = datetime(2026, 11, 25, 2, tzinfo=UTC)
TODAY = T0.date()
FIGURES = date(2026, 10, 31)  # last month's performance figures (within the trailing 12 months)
AZURE_EXAM = "70-533"  # counts toward Cloud Platform silver and gold (one of its exams)


def tenant_of(partner_id: str) -> str:
    """A stable Entra tenant id (GUID) per partner id."""
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_DNS, partner_id + ".partners.example"))


class Suite:
    """The container and what people do through its services, in a few words per action."""

    def __init__(self, folder: Path) -> None:
        self.clock = FixedClock(T0)
        self.sign_in = FakeSignIn()
        self.directory = FakeDirectory()
        self.sink = RecordingSink()
        settings = Settings(data_dir=folder)
        assert settings.cosmos_endpoint is None and not settings.has_storage_connection_string and not settings.queue_service_url
        self.c = bootstrap.Container(
            settings, clock=self.clock, directory=self.directory, msa_sign_in=self.sign_in, alert_sinks=[self.sink]
        )
        self.partners = bootstrap.partner_service(self.c)
        self.feeds = bootstrap.feed_service(self.c)
        self.links = bootstrap.link_service(self.c)
        self.msa = bootstrap.msa_link_service(self.c)
        self.membership = bootstrap.membership_service(self.c)
        self.program = bootstrap.program_service(self.c)
        self.evaluation = bootstrap.evaluation_service(self.c)
        self.store = self.c.store

    # --- the people and what they do ---------------------------------------------------------

    def partner(self, partner_id: str = "p1") -> dict[str, Any]:
        """A registered partner (its document, as the triggers hand it to the services)."""
        self.partners.register(partner_id, PartnerIn(display_name=partner_id.title(), tenant_id=tenant_of(partner_id)))
        doc = self.partners.document(partner_id)
        assert doc is not None
        return doc

    @staticmethod
    def member(partner: dict[str, Any], user_id: str) -> Caller:
        return Caller(tenant_id=partner["tenantId"], object_id=user_id, upn=f"{user_id}@{partner['partnerId']}.example")

    def start_link(self, partner: dict[str, Any], user_id: str) -> str:
        """The employee starts linking in the portal: the state of the sign-in."""
        url = self.msa.start(partner, self.member(partner, user_id), LinkStartIn()).authorization_url
        return url.split("state=")[1]

    def link(self, partner: dict[str, Any], user_id: str, email: str) -> LinkOut:
        """The employee links the MSA of ``email``: start, sign in, complete."""
        state = self.start_link(partner, user_id)
        code = self.sign_in.sign_in(state, email)
        return self.msa.complete(partner, self.member(partner, user_id), LinkCompleteIn(code=code, state=state))

    def achievement(self, msa_id: str, code: str = AZURE_EXAM, earned: str = "2026-01-10", expires: str | None = None) -> None:
        item: dict[str, Any] = {"msaId": msa_id, "kind": "exam", "code": code, "earnedOn": earned}
        if expires is not None:
            item["expiresOn"] = expires
        out = self.feeds.post_achievements([item])
        assert out.rejected == [], out.rejected

    def revenue(self, partner_id: str, value: float, as_of: date = FIGURES) -> None:
        from shared.services.feeds import PerformanceIn

        body = PerformanceIn.model_validate(
            {"asOf": as_of.isoformat(), "metrics": [{"metric": "revenueUsd", "competencyId": "cloud-platform", "value": value}]}
        )
        self.feeds.put_performance(partner_id, body)

    def cloud_platform(self, partner_id: str) -> dict[str, Any]:
        """Evaluate now; Cloud Platform's result."""
        evaluation = self.evaluation.evaluate_partner(partner_id)
        return next(c for c in evaluation["competencies"] if c["competencyId"] == "cloud-platform")


@pytest.fixture
def suite(tmp_path: Path) -> Iterator[Suite]:
    s = Suite(tmp_path)
    yield s
    s.c.close()


def skill(competency: dict[str, Any], level: str = "silver") -> dict[str, Any]:
    """The skill requirement of a Cloud Platform level (its people)."""
    lv = next(lv for lv in competency["levels"] if lv["level"] == level)
    return next(r for r in lv["paths"][0]["requirements"] if r["kind"] != "revenueUsd")
