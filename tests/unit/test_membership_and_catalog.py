"""Membership rules (boundary dates of the subscription year and the renewal window) and the
catalog's validation on load."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.domain import membership as m
from shared.domain.catalog import SHIPPED_CATALOG, CatalogError, load_catalog
from shared.domain.evaluation import EvaluationFacts

ON = date(2026, 11, 25)


def evaluation(**levels: str) -> EvaluationFacts:
    return EvaluationFacts.from_api(
        {
            "competencies": [
                {
                    "competencyId": cid,
                    "name": cid,
                    "achievedLevel": lv,
                    "atRisk": False,
                    "nextLevel": {"level": "gold", "gap": "2 more individuals"},
                }
                for cid, lv in levels.items()
            ]
        }
    )


def test_eligibility_follows_the_best_achieved_level() -> None:
    assert m.eligible_levels(evaluation(a="none")) == []
    assert m.eligible_levels(evaluation(a="silver", b="none")) == ["silver"]
    assert m.eligible_levels(evaluation(a="silver", b="gold")) == ["silver", "gold"]


def test_buying_without_eligibility_names_the_gap() -> None:
    with pytest.raises(m.NotEligible) as info:
        m.buy("gold", None, evaluation(a="silver"), ON)
    assert "2 more individuals" in info.value.detail


def test_a_purchase_lasts_a_year_and_the_level_is_kept_through_the_renewal_window() -> None:
    sub = m.buy("silver", None, evaluation(a="silver"), ON).subscription
    assert sub.expires_on == ON + timedelta(days=365)
    last_day = sub.expires_on - timedelta(days=1)
    assert m.status(sub, last_day) == "active"  # subscription's last day
    assert m.status(sub, sub.expires_on) == "renewalOpen"  # the anniversary
    assert m.displayed_level(sub, sub.expires_on + timedelta(days=29)) == "silver"
    assert m.displayed_level(sub, sub.expires_on + timedelta(days=30)) == "none"


def test_renewal_in_the_window_starts_the_new_year_on_the_anniversary() -> None:
    sub = m.Subscription("silver", ON, ON + timedelta(days=365))
    renewal = m.buy("silver", sub, evaluation(a="silver"), sub.expires_on + timedelta(days=10))
    assert renewal.kind == "renewal"
    assert renewal.subscription.purchased_on == sub.expires_on
    assert renewal.subscription.expires_on == sub.expires_on + timedelta(days=365)


def test_renewing_needs_the_requirements_met_again() -> None:
    sub = m.Subscription("silver", ON, ON + timedelta(days=365))
    with pytest.raises(m.NotEligible):
        m.buy("silver", sub, evaluation(a="none"), sub.expires_on)


def test_same_level_twice_in_the_year_is_refused_but_a_retry_the_same_day_is_a_no_op() -> None:
    sub = m.buy("silver", None, evaluation(a="silver"), ON).subscription
    assert m.buy("silver", sub, evaluation(a="silver"), ON).kind == "repeat"
    with pytest.raises(m.NotEligible):
        m.buy("silver", sub, evaluation(a="silver"), ON + timedelta(days=1))


def test_upgrade_to_gold_during_the_year_is_discounted() -> None:
    sub = m.Subscription("silver", ON, ON + timedelta(days=365))
    upgrade = m.buy("gold", sub, evaluation(a="gold"), ON + timedelta(days=100))
    assert upgrade.kind == "upgrade" and upgrade.discount_percent == 25 and upgrade.subscription.level == "gold"


def test_business_profile_silver_shows_silver_gold_shows_both() -> None:
    e = evaluation(a="silver", b="gold", c="none")
    assert m.business_profile("silver", e) == [{"competencyId": "a", "level": "silver"}, {"competencyId": "b", "level": "silver"}]
    assert m.business_profile("gold", e) == [{"competencyId": "a", "level": "silver"}, {"competencyId": "b", "level": "gold"}]


def test_renewal_at_risk_when_the_subscribed_level_is_no_longer_met() -> None:
    sub = m.Subscription("gold", ON, ON + timedelta(days=365), {"a": "gold"})
    assert m.renewal_at_risk(sub, evaluation(a="gold"), ON, 60) is False
    assert m.renewal_at_risk(sub, evaluation(a="silver"), ON, 60) is True
    view = m.membership_view("p", sub, evaluation(a="silver"), ON, 60)
    assert view["level"] == "gold"  # still displayed
    assert view["renewalRisks"] == [{"competencyId": "a", "level": "gold", "state": "notMet"}]


# --- catalog ----------------------------------------------------------------------------------


def test_the_shipped_catalog_has_the_program_requirements() -> None:
    catalog = load_catalog()
    assert len(catalog.competencies) >= 8
    assert sum(1 for c in catalog.competencies if any(len(lv.paths) >= 2 for lv in c.levels)) >= 3
    assert any(all(r.is_skill for r in p.requirements) for c in catalog.competencies for p in c.level("silver").paths)
    assert catalog.exam_by_code["70-534"].accepted_until == date(2018, 12, 31)
    productivity = catalog.by_id["cloud-productivity"].level("silver").paths[0].requirements[1]
    assert productivity.any_of_sets == (("70-346", "70-347"), ("MCSA-OFFICE-365",))


@pytest.mark.parametrize(
    ("file", "change", "message"),
    [
        (
            "cloud-platform.json",
            lambda d: d["levels"][0]["paths"][0]["requirements"][0].update(required=-1),
            "cloud-platform.json: levels.0.paths.0.requirements.0.required",
        ),
        ("cloud-platform.json", lambda d: d["levels"][0]["paths"][0]["requirements"][1].update(anyOf=["NOPE-1"]), "unknown codes NOPE-1"),
        ("cloud-platform.json", lambda d: d["levels"].pop(), "levels"),
        ("datacenter.json", lambda d: d.update(surprise=True), "datacenter.json: surprise"),
    ],
    ids=["negative", "unknown-code", "missing-gold", "unknown-field"],
)
def test_a_broken_catalog_fails_with_the_file_and_field(tmp_path: Path, file: str, change: Any, message: str) -> None:
    folder = tmp_path / "catalog"
    shutil.copytree(SHIPPED_CATALOG, folder)
    data = json.loads((folder / file).read_text())
    change(data)
    (folder / file).write_text(json.dumps(data))
    with pytest.raises(CatalogError, match=message.replace(".", r"\.")):
        load_catalog(folder)
