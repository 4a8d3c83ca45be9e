"""Program operations: overrides target what the loaded catalog version has, last three months
by default, are audited and stop applying after their last day; the skills report says for
each person and achievement what it counts toward, or why not."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from shared import bootstrap
from shared.documents import UserDoc, partner_pk
from shared.errors import ValidationFailed
from shared.services.overrides_and_skills_report import OverrideIn
from shared.settings import Settings
from tests.unit.services.conftest import T0, TODAY, Suite

SHIPPED = Path(__file__).resolve().parents[3] / "shared" / "catalog"


def override(**fields: Any) -> OverrideIn:
    body = {"competencyId": "cloud-platform", "level": "silver", "reason": "figures delayed by the program", **fields}
    return OverrideIn.model_validate(body)


def silver(suite: Suite) -> dict[str, Any]:
    competency = suite.cloud_platform("p1")
    return next(lv for lv in competency["levels"] if lv["level"] == "silver")


# --- overrides --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "pointer"),
    [
        ({"competencyId": "no-such-competency"}, "#/competencyId"),
        ({"pathId": "no-such-path"}, "#/pathId"),
        ({"pathId": "azure-consumption", "requirementId": "no-such-requirement"}, "#/requirementId"),
    ],
)
def test_an_override_must_target_what_the_catalog_has(suite: Suite, target: dict[str, str], pointer: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        suite.program.put_override("p1", "o1", override(**target), actor="operator")
    assert [e["pointer"] for e in refused.value.errors] == [pointer]
    assert suite.store.query(partner_pk("p1"), types=["override"]) == []


def test_a_requirement_override_needs_its_path() -> None:
    with pytest.raises(ValidationError):
        override(requirementId="azure-skill")


def test_an_override_lasts_three_months_by_default_and_must_end_in_the_future(suite: Suite) -> None:
    out, created = suite.program.put_override("p1", "o1", override(), actor="operator")
    assert created is True and out.active is True
    assert out.expires_on == TODAY + timedelta(days=91)
    for last_day in (TODAY, TODAY - timedelta(days=1)):
        with pytest.raises(ValidationFailed):
            suite.program.put_override("p1", "o2", override(expiresOn=last_day.isoformat()), actor="operator")


def test_updating_an_override_keeps_who_created_it_and_audits_each_change(suite: Suite) -> None:
    suite.program.put_override("p1", "o1", override(), actor="first@program.example")
    suite.clock.advance(days=2)
    out, created = suite.program.put_override(
        "p1", "o1", override(expiresOn=(TODAY + timedelta(days=30)).isoformat(), reason="shortened"), actor="second@program.example"
    )
    assert created is False
    assert (out.created_by, out.created_at) == ("first@program.example", T0)
    assert (out.updated_by, out.updated_at, out.reason) == ("second@program.example", suite.clock(), "shortened")
    stored = suite.store.read(partner_pk("p1"), "override:o1")
    assert stored is not None
    assert [(h["action"], h["by"], h["reason"]) for h in stored.body["history"]] == [
        ("created", "first@program.example", "figures delayed by the program"),
        ("updated", "second@program.example", "shortened"),
    ]


def test_a_malformed_override_id_is_refused(suite: Suite) -> None:
    with pytest.raises(ValidationFailed):
        suite.program.put_override("p1", "has space", override(), actor="operator")


def test_an_override_makes_the_level_met_through_its_last_day_and_then_it_reverts(suite: Suite) -> None:
    suite.partner("p1")
    last_day = TODAY + timedelta(days=10)
    suite.program.put_override("p1", "o1", override(expiresOn=last_day.isoformat()), actor="operator")
    level = silver(suite)
    assert (level["met"], level["override"]) == (True, True)
    suite.clock.now = T0 + timedelta(days=10)  # the last day
    assert silver(suite)["met"] is True
    suite.clock.advance(days=1)
    level = silver(suite)
    assert (level["met"], level["override"]) == (False, False)
    out, _ = suite.program.put_override("p1", "o1", override(expiresOn=(suite.clock().date() + timedelta(days=5)).isoformat()), actor="op")
    assert out.active is True


def test_an_override_of_one_requirement_leaves_the_others_to_be_met(suite: Suite) -> None:
    suite.partner("p1")
    suite.program.put_override("p1", "o1", override(pathId="azure-consumption", requirementId="azure-consumption"), actor="operator")
    assert silver(suite)["met"] is False, "the skill requirement is still unmet"
    partner = suite.partners.document("p1")
    assert partner is not None
    suite.achievement(suite.link(partner, "u1", "ada@outlook.example").msa_id)
    assert silver(suite)["met"] is True


def test_overrides_are_checked_against_the_catalog_version_the_suite_loaded(suite: Suite, tmp_path: Path) -> None:
    folder = tmp_path / "catalog-2019"
    shutil.copytree(SHIPPED, folder)
    index = json.loads((folder / "catalog.json").read_text())
    index["catalogVersion"] = "2019.1"
    index["competencies"] = [name for name in index["competencies"] if name != "devops.json"]  # retired in this version
    (folder / "catalog.json").write_text(json.dumps(index))
    c = bootstrap.Container(Settings(data_dir=tmp_path / "data-2019", catalog_dir=folder), clock=suite.clock)
    try:
        with pytest.raises(ValidationFailed):
            bootstrap.program_service(c).put_override("p1", "o1", override(competencyId="devops"), actor="operator")
        assert bootstrap.evaluation_service(c).evaluate_partner("p1")["catalogVersion"] == "2019.1"
    finally:
        c.close()
    out, _ = suite.program.put_override("p1", "o1", override(competencyId="devops"), actor="operator")  # the shipped version has it
    assert out.competency_id == "devops"
    assert suite.evaluation.evaluate_partner("p1")["catalogVersion"] == "2018.1"


# --- the skills report ------------------------------------------------------------------------


def report(suite: Suite) -> list[dict[str, str]]:
    latest = suite.evaluation.evaluate_partner("p1")
    return list(csv.DictReader(io.StringIO(suite.program.skills_report("p1", latest))))


def test_the_skills_report_says_what_each_achievement_counts_toward_or_why_not(suite: Suite) -> None:
    partner = suite.partner("p1")
    suite.revenue("p1", 20_000)
    ada = suite.link(partner, "u1", "ada@outlook.example").msa_id
    suite.achievement(ada, "70-533")  # counts
    suite.achievement(ada, "70-535", earned="2024-01-10", expires="2025-01-09")  # expired
    suite.achievement(ada, "70-534", earned="2017-06-01")  # retired, accepted until 2018-12-31
    suite.achievement(ada, "98-999")  # no competency lists it
    suite.start_link(partner, "u2")  # an employee who never linked an MSA
    bob = suite.link(partner, "u3", "bob@outlook.example").msa_id
    suite.achievement(bob, "70-532")
    stored = suite.store.read(partner_pk("p1"), UserDoc.doc_id("u3"))
    assert stored is not None
    suite.store.upsert(partner_pk("p1"), {**stored.body, "status": "departed"})
    rows = {(r["userId"], r["code"]): r for r in report(suite)}
    assert "cloud-platform silver (azure-skill)" in rows[("u1", "70-533")]["countsToward"].split("; ")
    assert rows[("u1", "70-533")]["notCountedBecause"] == ""
    assert rows[("u1", "70-535")]["notCountedBecause"] == "expired"
    assert rows[("u1", "70-534")]["notCountedBecause"] == "retired exam, accepted until 2018-12-31"
    assert rows[("u1", "98-999")]["notCountedBecause"] == "not listed by any competency"
    assert (rows[("u2", "")]["msaLinked"], rows[("u2", "")]["notCountedBecause"]) == ("no", "MSA not linked")
    assert rows[("u3", "70-532")]["notCountedBecause"] == "departed"
    assert rows[("u3", "70-532")]["countsToward"] == ""


def test_an_achievement_counts_in_the_report_through_its_last_day(suite: Suite) -> None:
    partner = suite.partner("p1")
    ada = suite.link(partner, "u1", "ada@outlook.example").msa_id
    suite.achievement(ada, "70-533", expires=TODAY.isoformat())
    [today] = [r for r in report(suite) if r["code"] == "70-533"]
    assert today["notCountedBecause"] != "expired"
    suite.clock.advance(days=1)
    [tomorrow] = [r for r in report(suite) if r["code"] == "70-533"]
    assert tomorrow["notCountedBecause"] == "expired"
