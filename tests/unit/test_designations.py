"""The partner capability score: every worked example of CAPABILITY_FACTS.md as a table row,
and properties that must hold for all inputs (Hypothesis)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.domain.catalog import SHIPPED_CATALOG, CatalogError
from shared.domain.designations import (
    CustomerFact,
    DesignationSnapshot,
    Enrolment,
    EnrolmentRefused,
    MonthRecord,
    TrackScore,
    _Facts,
    _Holdings,
    enrol,
    evaluate_designations,
    load_designations,
    month_index,
    qualification_window,
    score_track,
    status,
)
from shared.domain.evaluation import Achievement, Person

CATALOG = load_designations()
ON = date(2026, 11, 25)
REF = month_index(date(2026, 10, 1))  # the reference month on ON: the previous calendar month


def person(n: int, *, active: bool = True, linked: bool = True) -> Person:
    return Person(f"u{n}", f"Person {n}", active, f"m{n}" if linked else None)


def cert(n: int, code: str, *, earned: date = date(2026, 1, 1), expires: date | None = None) -> Achievement:
    return Achievement(f"m{n}", "certification", code, earned, expires)


def fact(tenant: str, workload: str, association: str, month: int = REF, **values: Any) -> CustomerFact:
    return CustomerFact(month, tenant, workload, association, **values)


def people_holding(codes: list[str], start: int = 0) -> tuple[list[Person], list[Achievement]]:
    return [person(start + i) for i in range(len(codes))], [cert(start + i, code) for i, code in enumerate(codes)]


def track(
    designation: str,
    track_id: str,
    *,
    people: Sequence[Person] = (),
    achievements: Sequence[Achievement] = (),
    facts: Sequence[CustomerFact] = (),
    on: date = ON,
) -> TrackScore:
    d = CATALOG.by_id[designation]
    held = _Holdings(CATALOG, people, achievements).on(on)
    f = _Facts(CATALOG, facts)
    return score_track(d.track(track_id), held, f, f.reference_month(on), on)


def points(designation: str, track_id: str, metric: str, **inputs: Any) -> float:
    scored = track(designation, track_id, **inputs)
    return next(m.points for m in scored.metrics if m.metric.metric_id == metric)


def result(designation: str, snapshot: DesignationSnapshot, on: date = ON) -> dict[str, Any]:
    evaluation = evaluate_designations(CATALOG, snapshot, on)
    return next(d.to_api() for d in evaluation.designations if d.designation.designation_id == designation)


# --- the catalog ----------------------------------------------------------------------------------


def test_the_six_designations_ship_with_their_source_page_and_date() -> None:
    assert [d.designation_id for d in CATALOG.designations] == [
        "data-ai-azure",
        "infrastructure-azure",
        "digital-app-innovation-azure",
        "business-applications",
        "modern-work",
        "security",
    ]
    for d in CATALOG.designations:
        assert d.source.startswith("https://learn.microsoft.com/partner-center/solutions-partner-")
        assert date(2023, 6, 1) <= d.source_date <= date(2023, 6, 30)


@pytest.mark.parametrize(
    ("designation", "track_id", "maxima"),
    [
        # §3a derived totals: D&AI 30+40+20+10; Infra and DAI 30+20+20+20+10.
        ("data-ai-azure", "standard", [30, 40, 20, 10]),
        ("infrastructure-azure", "standard", [30, 20, 20, 20, 10]),
        ("digital-app-innovation-azure", "standard", [30, 20, 20, 20, 10]),
        ("business-applications", "enterprise", [15, 20, 15, 30, 20]),
        ("business-applications", "smb", [15, 20, 15, 30, 20]),
        # §3c: category points 20/10/15/30/25 (P6 agrees).
        ("modern-work", "enterprise", [20, 10, 15, 30, 25]),
        ("modern-work", "smb", [20, 10, 15, 30, 25]),
        # §3d: four metrics, no advanced certifications.
        ("security", "standard", [20, 40, 20, 20]),
    ],
)
def test_each_track_adds_up_to_100_points(designation: str, track_id: str, maxima: list[int]) -> None:
    assert [m.max_points for m in CATALOG.by_id[designation].track(track_id).metrics] == maxima


def _copy_catalog(tmp_path: Path) -> Path:
    folder = tmp_path / "catalog"
    shutil.copytree(SHIPPED_CATALOG, folder)
    return folder


def test_a_track_whose_points_do_not_add_up_to_100_stops_start_up_naming_the_file(tmp_path: Path) -> None:
    folder = _copy_catalog(tmp_path)
    path = folder / "designations" / "security.json"
    body = json.loads(path.read_text())
    body["tracks"][0]["metrics"][0]["maxPoints"] = 25
    path.write_text(json.dumps(body))
    with pytest.raises(CatalogError, match=r"security\.json.*add up to 105"):
        load_designations(folder)


def test_an_unknown_certification_or_association_stops_start_up(tmp_path: Path) -> None:
    folder = _copy_catalog(tmp_path)
    path = folder / "designations" / "modern-work.json"
    body = json.loads(path.read_text())
    body["tracks"][0]["metrics"][1]["anyOf"].append("XX-999")
    path.write_text(json.dumps(body))
    with pytest.raises(CatalogError, match="unknown codes XX-999"):
        load_designations(folder)
    body["tracks"][0]["metrics"][1]["anyOf"].pop()
    body["tracks"][0]["metrics"][0]["sources"][0]["from"][0]["associations"] = ["GDAP"]
    path.write_text(json.dumps(body))
    with pytest.raises(CatalogError, match="unknown associations GDAP"):
        load_designations(folder)


def test_a_catalog_version_replaces_the_shipped_designations(tmp_path: Path) -> None:
    folder = _copy_catalog(tmp_path)
    index = json.loads((folder / "designations.json").read_text())
    index["designationsVersion"] = "2024.01"
    index["designations"] = ["designations/security.json"]
    (folder / "designations.json").write_text(json.dumps(index))
    replaced = load_designations(folder)
    assert replaced.designations_version == "2024.01" and list(replaced.by_id) == ["security"]
    assert replaced.digest != CATALOG.digest


# --- worked examples of the fact sheet ------------------------------------------------------------


AZURE_ADD: dict[str, Any] = {"revenue_usd": 1000.0}


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        # §2 FAQ: partial points in whole increments, "1 of 3 customer adds gives 10 of 30 points".
        ([fact("t1", "azure-sql-database", "CSP", **AZURE_ADD)], 10),
        ([fact(f"t{i}", "azure-sql-database", "DPOR", **AZURE_ADD) for i in range(3)], 30),
        ([fact(f"t{i}", "azure-sql-database", "PAL", **AZURE_ADD) for i in range(5)], 30),  # capped
        # §3a: eligible with USD 1,000 "in one of the last two months".
        ([fact("t1", "azure-sql-database", "CSP", REF - 1, **AZURE_ADD)], 10),
        ([fact("t1", "azure-sql-database", "CSP", REF - 2, **AZURE_ADD), fact("t9", "azure-storage", "CSP", REF, revenue_usd=1.0)], 0),
        ([fact("t1", "azure-sql-database", "CSP", revenue_usd=999.0)], 0),
        # The tenant's services add up to the USD 1,000.
        ([fact("t1", "azure-sql-database", "CSP", revenue_usd=600.0), fact("t1", "azure-storage", "PAL", revenue_usd=400.0)], 10),
        # Net: minus the customers of the same months a year earlier.
        ([fact("t1", "azure-sql-database", "CSP", **AZURE_ADD), fact("t1", "azure-sql-database", "CSP", REF - 12, **AZURE_ADD)], 0),
        (
            [
                fact("t1", "azure-sql-database", "CSP", REF - 12, **AZURE_ADD),
                fact("t2", "azure-sql-database", "CSP", **AZURE_ADD),
                fact("t3", "azure-sql-database", "CSP", **AZURE_ADD),
            ],
            10,
        ),
        # §4: DAP/GDAP-only attribution would never reach the engine; CPOR does not attribute Azure.
        ([fact("t1", "azure-sql-database", "CPOR", **AZURE_ADD)], 0),
    ],
)
def test_azure_net_customer_adds(facts: list[CustomerFact], expected: float) -> None:
    assert points("infrastructure-azure", "standard", "net-customer-adds", facts=facts) == expected


def test_azure_net_adds_for_march_compare_january_and_february_of_both_years() -> None:
    # §2 (P11): Azure net adds for March 2025 need data for Jan-Feb 2024 and Jan-Feb 2025.
    on = date(2025, 3, 25)
    jan25, feb25 = month_index(date(2025, 1, 1)), month_index(date(2025, 2, 1))
    jan24, feb24, dec23 = month_index(date(2024, 1, 1)), month_index(date(2024, 2, 1)), month_index(date(2023, 12, 1))
    facts = [
        fact("new", "azure-sql-database", "CSP", jan25, **AZURE_ADD),
        fact("kept", "azure-sql-database", "CSP", feb25, **AZURE_ADD),
        fact("kept", "azure-sql-database", "CSP", jan24, **AZURE_ADD),
        fact("gone", "azure-sql-database", "CSP", feb24, **AZURE_ADD),
        fact("older", "azure-sql-database", "CSP", dec23, **AZURE_ADD),  # outside both windows
    ]
    scored = track("infrastructure-azure", "standard", facts=facts, on=on)
    adds = next(m for m in scored.metrics if m.metric.metric_id == "net-customer-adds")
    assert adds.current == 0  # {new, kept} - {kept, gone}


@pytest.mark.parametrize(
    ("n", "expected"),
    [(1, 6.67), (3, 20), (6, 40), (7, 40)],  # §3d: 6.6 per person, 6 = max; worked examples use 6.67
)
def test_security_intermediate_certifications(n: int, expected: float) -> None:
    codes = ["AZ-500", "AZ-500", "SC-200", "SC-200"] + ["SC-100", "SC-300", "SC-400"] * 3
    people, achievements = people_holding(codes[:4])
    scorers, scorer_certs = people_holding(codes[4 : 4 + n], start=10)
    assert (
        points("security", "standard", "intermediate-certifications", people=people + scorers, achievements=achievements + scorer_certs)
        == expected
    )


def test_security_prerequisites_doubled_from_december_2023() -> None:
    # §3d: Step 1 ≥1 Azure Security Engineer and Step 2 ≥1 Security Operations Analyst, ≥2 each from Dec 1, 2023.
    people, achievements = people_holding(["AZ-500", "SC-200", "SC-100"])
    kw = {"people": people, "achievements": [a._replace(earned_on=date(2023, 1, 1)) for a in achievements]}
    assert points("security", "standard", "intermediate-certifications", on=date(2023, 11, 30), **kw) == 6.67
    assert points("security", "standard", "intermediate-certifications", on=date(2023, 12, 1), **kw) == 0


@pytest.mark.parametrize(
    ("track_id", "n", "expected"),
    [
        # §3b: Enterprise 2.14 per person (7 = max 15); SMB 7.5 per person (2).
        ("enterprise", 1, 2.14),
        ("enterprise", 7, 15),
        ("smb", 1, 7.5),
        ("smb", 2, 15),
        ("smb", 3, 15),
    ],
)
def test_business_applications_advanced_certifications(track_id: str, n: int, expected: float) -> None:
    people, achievements = people_holding(["PL-600"] * n)
    assert points("business-applications", track_id, "advanced-certifications", people=people, achievements=achievements) == expected


def test_a_person_counts_once_per_metric() -> None:
    # §3b/§3c: each person counted once, however many listed certifications they hold.
    people = [person(1)]
    achievements = [cert(1, "MB-210"), cert(1, "MB-220"), cert(1, "PL-200")]
    assert points("business-applications", "smb", "intermediate-certifications", people=people, achievements=achievements) == 4


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("active and linked", 7.5),
        ("departed", 0),
        ("not linked", 0),
    ],
)
def test_certifications_count_while_the_person_is_active_and_linked(who: str, expected: float) -> None:
    p = {"active and linked": person(1), "departed": person(1, active=False), "not linked": person(1, linked=False)}[who]
    assert points("business-applications", "smb", "advanced-certifications", people=[p], achievements=[cert(1, "MB-700")]) == expected


@pytest.mark.parametrize(
    ("on", "expires", "counts"),
    [
        # §3a: AZ-600 retired July 31, 2023; still eligible for PCS points through July 2024.
        (date(2024, 7, 31), None, True),
        (date(2024, 8, 1), None, False),
        # P14: one year after retirement or until the individual certification expires, whichever is sooner.
        # ``expiresOn`` names the last day it counts (as for competencies).
        (date(2024, 3, 1), date(2024, 3, 1), True),
        (date(2024, 3, 2), date(2024, 3, 1), False),
    ],
)
def test_retired_certifications_count_for_their_grace_or_until_they_expire(on: date, expires: date | None, counts: bool) -> None:
    people, achievements = people_holding(["AZ-104", "AZ-104"])
    stack = cert(5, "AZ-600", earned=date(2022, 1, 1), expires=expires)
    achievements = [a._replace(earned_on=date(2022, 1, 1)) for a in achievements] + [stack]
    scored = points(
        "infrastructure-azure", "standard", "intermediate-certifications", people=[*people, person(5)], achievements=achievements, on=on
    )
    assert scored == (4 if counts else 0)


def test_gated_prerequisites_give_no_points_and_block_the_step_that_does() -> None:
    # §3a D&AI: Step 1 ≥2 Solutions Architect Experts, Step 2 ≥2 Administrators, Step 3 scores 4 each.
    people, achievements = people_holding(["AZ-305", "AZ-305", "AZ-104", "DP-203", "AI-102"])
    assert points("data-ai-azure", "standard", "intermediate-certifications", people=people, achievements=achievements) == 0
    more, more_certs = people_holding(["AZ-104"], start=20)
    assert (
        points("data-ai-azure", "standard", "intermediate-certifications", people=people + more, achievements=achievements + more_certs)
        == 8
    )


@pytest.mark.parametrize(
    ("cpor", "dpor", "expected"),
    [
        # §3c Enterprise: (actual ÷ threshold) x 30, thresholds CPOR 1,000 and DPOR 4,000; the higher option counts.
        (500, 0, 15),
        (0, 2000, 15),
        (500, 3000, 22.5),
        (1000, 0, 30),
        (2000, 8000, 30),
    ],
)
def test_modern_work_usage_growth(cpor: float, dpor: float, expected: float) -> None:
    facts = [
        fact("t1", "teams", "CPOR", REF - 12, active_users=100),
        fact("t1", "teams", "CPOR", active_users=100 + cpor),
        fact("t2", "exchange", "DPOR", REF - 12, active_users=100),
        fact("t2", "exchange", "DPOR", active_users=100 + dpor),
    ]
    assert points("modern-work", "enterprise", "usage-growth", facts=facts) == expected


@pytest.mark.parametrize(
    ("seats", "enterprise", "smb"),
    [
        # §3c: eligible tenant has a workload with >300 paid seats (Enterprise) or 11-300 (SMB).
        (301, 4, 0),
        (300, 0, 2),
        (11, 0, 2),
        (10, 0, 0),
    ],
)
def test_modern_work_net_customer_adds_by_seats(seats: int, enterprise: float, smb: float) -> None:
    facts = [fact("t1", "teams", "CPOR", paid_seats=seats)]
    assert points("modern-work", "enterprise", "net-customer-adds", facts=facts) == enterprise
    assert points("modern-work", "smb", "net-customer-adds", facts=facts) == smb


@pytest.mark.parametrize(("active", "expected"), [(40, 5), (39, 0)])
def test_modern_work_deployment_needs_40_percent_of_paid_seats_active(active: int, expected: float) -> None:
    facts = [fact("t1", "teams", "CPOR", paid_seats=100, active_users=active)]
    assert points("modern-work", "enterprise", "deployments", facts=facts) == expected


@pytest.mark.parametrize(
    ("track_id", "mau", "expected"),
    [
        # §3b: MCV = MAU x rate; "10 Business Central MAU = 10,000 MCV"; a deployment needs
        # ≥ 10,000 MCV (Enterprise) or ≥ 5,000 (SMB); 4 points per deployment.
        ("enterprise", 10, 4),
        ("enterprise", 9, 0),
        ("smb", 5, 4),
    ],
)
def test_business_applications_deployments_from_the_rate_card(track_id: str, mau: int, expected: float) -> None:
    facts = [fact("t1", "d365-business-central", "CPOR", active_users=mau)]
    assert points("business-applications", track_id, "deployments", facts=facts) == expected


@pytest.mark.parametrize(
    ("base", "now", "expected"),
    [
        # §3b: 1 point per 1 % MCV growth, max at 30 %; baseline MCV 12 months ago ≥ 50,000 (Enterprise).
        (50000, 55000, 10),
        (50000, 80000, 30),
        (49000, 80000, 0),  # below the prerequisite baseline
        (50000, 50499, 0),  # 0.998 %: whole increments only
    ],
)
def test_business_applications_usage_growth(base: float, now: float, expected: float) -> None:
    facts = [fact("t1", "power-bi", "PAL", REF - 12, mcv=base), fact("t1", "power-bi", "PAL", mcv=now)]
    assert points("business-applications", "enterprise", "usage-growth", facts=facts) == expected


@pytest.mark.parametrize(("workloads", "expected"), [(5, "enterprise"), (4, "smb")])
def test_business_applications_track_is_assigned_from_workloads_over_5000_in_month_1_and_13(workloads: int, expected: str) -> None:
    # §1: Enterprise with ≥5 unique workloads contributing >$5,000 per customer tenant in both month-1 and month-13.
    names = ["d365-business-central", "d365-core-hr", "d365-guides", "power-apps", "power-bi"][:workloads]
    facts = [fact("t1", w, "CPOR", m, revenue_usd=5001) for w in names for m in (REF, REF - 12)]
    answer = result("business-applications", DesignationSnapshot("p", facts=facts))
    assert answer["track"]["trackId"] == expected
    assert f"{workloads} workloads had more than USD 5,000" in answer["track"]["why"]


def test_modern_work_counts_the_higher_track() -> None:
    # §1: both paths are evaluated and the higher score counts (SMB here: 2 SMB-sized tenants).
    facts = [fact("t1", "teams", "CPOR", paid_seats=50), fact("t2", "teams", "CSP", paid_seats=50)]
    answer = result("modern-work", DesignationSnapshot("p", facts=facts))
    assert answer["track"]["trackId"] == "smb"
    assert "the higher track score counts" in answer["track"]["why"]


@pytest.mark.parametrize(
    ("seats_before", "seats_now", "adds"),
    [
        # §3d (P6): a new M365 customer goes from 0 to 25 paid seats.
        (0, 25, 1),
        (0, 24, 0),
        (25, 25, 0),
    ],
)
def test_security_m365_customer_adds(seats_before: int, seats_now: int, adds: int) -> None:
    facts = [fact("t1", "defender-endpoint", "CPOR", paid_seats=seats_now)]
    if seats_before:
        facts.append(fact("t1", "defender-endpoint", "CPOR", REF - 12, paid_seats=seats_before))
    assert points("security", "standard", "net-customer-adds", facts=facts) == 2 * adds


@pytest.mark.parametrize(("n", "expected"), [(1, 3.33), (3, 10), (6, 20), (8, 20)])
def test_security_deployments_3_3_points_each(n: int, expected: float) -> None:
    facts = [fact(f"t{i}", "defender-endpoint", "CPOR", paid_seats=100, active_users=15) for i in range(n)]
    assert points("security", "standard", "deployments", facts=facts) == expected


def test_azure_deployments_exclude_virtual_machines() -> None:
    facts = [
        fact("t1", "azure-virtual-machines", "CSP", revenue_usd=50000),
        fact("t1", "azure-vm-licenses", "CSP", revenue_usd=50000),
        fact("t1", "azure-sql-database", "CSP", REF - 11, revenue_usd=1),
    ]
    assert points("infrastructure-azure", "standard", "deployments", facts=facts) == 2


def test_azure_usage_growth_needs_a_base_of_usd_1000() -> None:
    growth = [fact("t1", "azure-sql-database", "CSP", REF - 12, revenue_usd=999), fact("t1", "azure-sql-database", "CSP", revenue_usd=5000)]
    assert points("infrastructure-azure", "standard", "usage-growth", facts=growth) == 0
    growth[0] = growth[0]._replace(revenue_usd=1000)
    assert points("infrastructure-azure", "standard", "usage-growth", facts=growth) == 20


@pytest.mark.parametrize(
    ("on", "anniversary", "window"),
    [
        # P1 (2024): Aug 15, 2024 → Mar 1-Aug 15, 2024 (five full calendar months, rolling at month start).
        (date(2024, 8, 15), None, (date(2024, 3, 1), date(2024, 8, 15))),
        (date(2024, 8, 1), None, (date(2024, 3, 1), date(2024, 8, 1))),
        (date(2024, 7, 31), None, (date(2024, 2, 1), date(2024, 7, 31))),
        # S1: anniversary Aug 15, 2024 → window Mar 1-Aug 31, 2024.
        (date(2024, 5, 1), date(2024, 8, 15), (date(2024, 3, 1), date(2024, 8, 31))),
        (date(2024, 1, 10), date(2024, 2, 29), (date(2023, 9, 1), date(2024, 2, 29))),
    ],
)
def test_qualification_window(on: date, anniversary: date | None, window: tuple[date, date]) -> None:
    assert qualification_window(on, anniversary) == window


def test_designations_share_the_anniversary_of_the_first() -> None:
    # §2 (S7): Modern Work in Nov 2022, then Business Applications (Jan 2023) and Security
    # (Feb 2023) → all renew Nov 2023.
    membership, what = enrol(None, "modern-work", "qualified", date(2022, 11, 10), date(2022, 11, 10))
    assert what == "enrolled" and membership.anniversary.strftime("%Y-%m") == "2023-11"
    membership, _ = enrol(membership, "business-applications", "qualified", date(2023, 1, 5), date(2023, 1, 5))
    membership, _ = enrol(membership, "security", "qualified", date(2023, 2, 7), date(2023, 2, 7))
    assert membership.anniversary.strftime("%Y-%m") == "2023-11"
    assert sorted(membership.designations) == ["business-applications", "modern-work", "security"]
    assert {status(membership, d, date(2023, 3, 1), None) for d in membership.designations} == {"enrolled"}


def test_a_designation_not_renewed_keeps_the_old_anniversary_and_lapses() -> None:
    membership = Enrolment(date(2026, 11, 10), {"security": date(2025, 11, 10), "modern-work": date(2026, 1, 5)})
    renewed, _ = enrol(membership, "security", "enrolledRenewalDue", date(2026, 10, 1), date(2026, 11, 12))
    assert renewed.anniversary == date(2027, 11, 10) and renewed.renewed == {"modern-work": date(2026, 11, 10)}
    assert status(renewed, "modern-work", date(2026, 11, 20), None) == "enrolledRenewalDue"
    assert status(renewed, "modern-work", date(2026, 12, 10), None) == "inProgress"
    both, _ = enrol(renewed, "modern-work", "enrolledRenewalDue", date(2026, 11, 1), date(2026, 11, 20))
    assert both.renewed == {} and status(both, "modern-work", date(2027, 6, 1), None) == "enrolled"
    # A designation enrolled later shares the current anniversary.
    later, _ = enrol(both, "business-applications", "qualified", date(2027, 2, 1), date(2027, 2, 1))
    assert later.anniversary_of("business-applications") == date(2027, 11, 10)


def test_enrolment_renewal_and_lapse() -> None:
    membership = Enrolment(date(2026, 11, 10), {"security": date(2025, 11, 10)})
    assert status(membership, "security", date(2026, 11, 9), None) == "enrolled"
    assert status(membership, "security", date(2026, 11, 10), None) == "enrolledRenewalDue"
    assert status(membership, "security", date(2026, 12, 9), None) == "enrolledRenewalDue"
    assert status(membership, "security", date(2026, 12, 10), None) == "inProgress"  # not renewed: lapsed
    # A retry before the anniversary changes nothing; renewing without qualifying is refused.
    assert enrol(membership, "security", "enrolled", None, date(2026, 5, 1)) == (membership, "unchanged")
    with pytest.raises(EnrolmentRefused):
        enrol(membership, "security", "enrolledRenewalDue", None, date(2026, 11, 20))
    renewed, what = enrol(membership, "security", "enrolledRenewalDue", date(2026, 9, 3), date(2026, 11, 20))
    assert what == "renewed" and renewed.anniversary == date(2027, 11, 10)
    assert status(renewed, "security", date(2027, 6, 1), None) == "enrolled"
    with pytest.raises(EnrolmentRefused):
        enrol(None, "modern-work", "inProgress", None, ON)


# --- a whole designation ---------------------------------------------------------------------------


def infrastructure_partner(*, expiring: dict[int, date] | None = None, adds: int = 3) -> DesignationSnapshot:
    """Scores 30 + 16 + 4 + 20 + 6 = 76 on ON: u0, u1 hold AZ-104 (Step 1), u2-u5 a Step 2
    intermediate certification, u6, u7 AZ-305 (Step 1), u8 AZ-140; customer t0 spent USD 200 a
    month for two years and grew to 1,000 in the last two months, when t1, t2… joined."""
    people, achievements = people_holding(["AZ-104", "AZ-104", "AZ-700", "AZ-800", "AZ-800", "AZ-800", "AZ-305", "AZ-305", "AZ-140"])
    for n, day in (expiring or {}).items():
        achievements[n] = achievements[n]._replace(expires_on=day)
    facts = [fact("t0", "azure-sql-database", "CSP", REF - k, revenue_usd=200) for k in range(2, 24)]
    facts += [fact(f"t{i}", "azure-sql-database", "CSP", REF - k, revenue_usd=1000) for i in range(adds) for k in range(2)]
    facts += [fact("t0", w, "CSP", REF, revenue_usd=10) for w in ("azure-storage", "azure-functions")]
    return DesignationSnapshot("p", people, achievements, facts)


def test_a_qualifying_designation_answers_score_track_window_history_and_status() -> None:
    answer = result("infrastructure-azure", infrastructure_partner())
    assert answer["score"] == 30 + 16 + 4 + 20 + 6
    assert answer["qualifiesToday"] is True and answer["status"] == "qualified"
    assert answer["track"] == {"trackId": "standard", "name": "Standard", "why": "The designation has one track."}
    assert answer["qualificationWindow"] == {"from": "2026-06-01", "to": "2026-11-25"}
    assert answer["history"][-1] == {"month": "2026-11", "highestScore": 76}
    assert [h["month"] for h in answer["history"]] == ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
    assert answer["qualifiedOn"] == "2026-11-25" and answer["referenceMonth"] == "2026-10"
    intermediate = next(m for m in answer["metrics"] if m["metricId"] == "intermediate-certifications")
    assert (intermediate["points"], intermediate["current"], intermediate["threshold"]) == (16, 4, 5)


def test_a_metric_at_zero_does_not_qualify_and_points_needed_names_it_first() -> None:
    snapshot = infrastructure_partner()
    snapshot = DesignationSnapshot("p", snapshot.people, [a for a in snapshot.achievements if a.code != "AZ-140"], snapshot.facts)
    answer = result("infrastructure-azure", snapshot)
    assert answer["score"] == 72 and answer["qualifiesToday"] is False and answer["status"] == "inProgress"
    assert answer["pointsNeeded"]["metricsAtZero"] == ["advanced-certifications"]
    assert answer["pointsNeeded"]["steps"] == ["1 more person holding one of AZ-140, AZ-120 gives 4 points (advanced certifications)"]


def test_points_needed_in_words() -> None:
    answer = result("infrastructure-azure", infrastructure_partner(adds=1))
    assert answer["score"] == 56
    assert answer["pointsNeeded"]["pointsToQualify"] == 14
    assert answer["pointsNeeded"]["steps"] == ["2 more net customer adds give 20 points (net customer adds)"]
    security = result("security", DesignationSnapshot("p", facts=[fact("t1", "defender-endpoint", "CPOR", paid_seats=30)]))
    assert security["score"] == 2
    assert security["pointsNeeded"] == {
        "pointsToQualify": 68,
        "metricsAtZero": ["intermediate-certifications", "usage-growth", "deployments"],
        "steps": [
            "2 more people holding AZ-500 (prerequisite) and 2 more people holding SC-200 or MS-500 (prerequisite) "
            "and 1 person holding one of SC-100, SC-300, SC-400 give 6.67 points (intermediate certifications)",
            "1250 more USD of security ACR give 1 point (usage growth)",
            "1 more net Azure security deployment gives 3.33 points (deployments)",
            "5 more people holding one of SC-100, SC-300, SC-400 give 33.33 points (intermediate certifications)",
            "5 more net Azure security deployments give 16.67 points (deployments)",
            "4 more net Azure security customers give 8 points (net customer adds)",
        ],
    }


def test_qualified_on_an_earlier_day_of_the_window_stays_qualified() -> None:
    snapshot = infrastructure_partner(adds=1)
    history = {"2026-07": {"infrastructure-azure": MonthRecord(72, date(2026, 7, 3))}}
    with_history = DesignationSnapshot("p", snapshot.people, snapshot.achievements, snapshot.facts, history=history)
    answer = result("infrastructure-azure", with_history)
    assert answer["status"] == "qualified" and answer["qualifiedOn"] == "2026-07-03"
    assert answer["history"][1] == {"month": "2026-07", "highestScore": 72}
    # On January 1 the window starts on August 1: July has left it.
    assert result("infrastructure-azure", with_history, date(2027, 1, 1))["status"] == "inProgress"


def test_earliest_day_below_70_when_customers_leave_the_comparison() -> None:
    # If nothing changes, t0-t2 stay at USD 1,000 a month; in October 2027 the comparison
    # months (Aug-Sep 2026) hold them too, and net adds fall from 30 points to 0.
    answer = result("infrastructure-azure", infrastructure_partner())
    assert answer["fallsBelow70On"] == "2027-10-01"
    assert answer["fallsBelow70Because"] == "score 46: net customer adds 30 → 0 points"


def test_earliest_day_below_70_from_expiring_certifications() -> None:
    # One Step 2 holder lapsing leaves 72; two leave 68 on the day the second lapses.
    one = result("infrastructure-azure", infrastructure_partner(expiring={2: date(2027, 1, 10)}))
    assert one["fallsBelow70On"] == "2027-10-01"
    two = result("infrastructure-azure", infrastructure_partner(expiring={2: date(2027, 1, 10), 3: date(2027, 2, 20)}))
    assert two["fallsBelow70On"] == "2027-02-21"  # the day after the second one's last day
    assert two["fallsBelow70Because"] == "score 68: intermediate certifications 16 → 8 points"


def test_the_single_person_the_designation_cannot_lose() -> None:
    answer = result("infrastructure-azure", infrastructure_partner())
    # Either AZ-104 holder (Step 1 needs two), either AZ-305 holder, the only AZ-140 holder;
    # not a Step 2 intermediate holder (76 - 4 = 72).
    assert {c["userId"] for c in answer["cannotLose"] if c["kind"] == "person"} == {"u0", "u1", "u6", "u7", "u8"}


@pytest.mark.parametrize(("adds", "cannot_lose"), [(3, {"t0", "t1", "t2"}), (4, set())])
def test_the_single_customer_the_designation_cannot_lose(adds: int, cannot_lose: set[str]) -> None:
    # With three new customers each is worth 10 points (76 - 10 < 70); with four, net adds
    # stay at the maximum without any one of them.
    answer = result("infrastructure-azure", infrastructure_partner(adds=adds))
    assert {c["customerTenantId"] for c in answer["cannotLose"] if c["kind"] == "customer"} == cannot_lose


def test_expiring_certifications_the_score_depends_on() -> None:
    answer = result("infrastructure-azure", infrastructure_partner(expiring={2: ON + timedelta(days=30)}))
    assert [(e["userId"], e["code"], e["expiresOn"]) for e in answer["expiring"]] == [
        ("u2", "AZ-700", (ON + timedelta(days=30)).isoformat())
    ]
    later = result("infrastructure-azure", infrastructure_partner(expiring={2: ON + timedelta(days=90)}))
    assert later["expiring"] == []


def test_the_same_inputs_give_the_same_answer_in_any_order() -> None:
    snapshot = infrastructure_partner()
    reordered = DesignationSnapshot(
        "p", list(reversed(snapshot.people)), list(reversed(snapshot.achievements)), list(reversed(snapshot.facts))
    )
    assert evaluate_designations(CATALOG, snapshot, ON).to_api() == evaluate_designations(CATALOG, reordered, ON).to_api()


# --- properties -----------------------------------------------------------------------------------

CODES = sorted(CATALOG.codes)
WORKLOADS = sorted(CATALOG.workload_by_id)
MONTHS = [REF, REF - 1, REF - 11, REF - 12, REF - 13]

certs_strategy = st.lists(st.tuples(st.integers(0, 11), st.sampled_from(CODES)), max_size=40)
facts_strategy = st.lists(
    st.builds(
        CustomerFact,
        st.sampled_from(MONTHS),
        st.sampled_from(["t1", "t2", "t3", "t4", "t5", "t6"]),
        st.sampled_from(WORKLOADS),
        st.sampled_from(list(CATALOG.associations)),
        st.sampled_from([0.0, 100.0, 1000.0, 2000.0, 15000.0, 60000.0]),
        st.sampled_from([0.0, 10.0, 30.0, 400.0]),
        st.sampled_from([0.0, 5.0, 20.0, 200.0, 3000.0]),
        st.sampled_from([None, 0.0, 6000.0, 60000.0]),
    ),
    max_size=40,
)


def _scores(held_certs: list[tuple[int, str]], facts: list[CustomerFact]) -> dict[tuple[str, str], Any]:
    people = [person(i) for i in range(12)]
    achievements = [cert(i, code) for i, code in held_certs]
    holdings = _Holdings(CATALOG, people, achievements).on(ON)
    f = _Facts(CATALOG, [*facts, fact("anchor", "exchange", "CPOR")])  # the reference month stays REF
    return {(d.designation_id, t.track_id): score_track(t, holdings, f, REF, ON) for d in CATALOG.designations for t in d.tracks}


PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(certs_strategy, facts_strategy)
def test_never_above_100_and_a_metric_at_zero_never_qualifies(held_certs: list[tuple[int, str]], facts: list[CustomerFact]) -> None:
    for scored in _scores(held_certs, facts).values():
        assert 0 <= scored.score <= 100
        for m in scored.metrics:
            assert 0 <= m.points <= m.metric.max_points
        if any(m.points == 0 for m in scored.metrics):
            assert not scored.qualifies
        assert scored.qualifies == (scored.score >= 70 and all(m.points > 0 for m in scored.metrics))


@PROPERTY
@given(certs_strategy, st.lists(st.tuples(st.integers(0, 11), st.sampled_from(CODES)), min_size=1, max_size=5), facts_strategy)
def test_more_certifications_never_lower_a_score(
    held_certs: list[tuple[int, str]], extra: list[tuple[int, str]], facts: list[CustomerFact]
) -> None:
    before, after = _scores(held_certs, facts), _scores(held_certs + extra, facts)
    for key, scored in before.items():
        assert after[key].score >= scored.score
        for m_before, m_after in zip(scored.metrics, after[key].metrics, strict=True):
            assert m_after.points >= m_before.points


@PROPERTY
@given(certs_strategy, facts_strategy, st.data())
def test_more_activity_this_year_never_lowers_a_score(
    held_certs: list[tuple[int, str]], facts: list[CustomerFact], data: st.DataObject
) -> None:
    """Monotonic in each current-year input: revenue, active users, MCV, and a new customer."""
    recent = [i for i, f in enumerate(facts) if f.month > REF - 12]
    grown = list(facts)
    for i in recent:
        f = grown[i]
        grown[i] = f._replace(
            revenue_usd=f.revenue_usd + data.draw(st.sampled_from([0.0, 500.0, 20000.0])),
            active_users=f.active_users + data.draw(st.sampled_from([0.0, 50.0, 1000.0])),
            mcv=None if f.mcv is None else f.mcv + data.draw(st.sampled_from([0.0, 10000.0])),
        )
    grown.append(
        fact(
            "newcomer",
            data.draw(st.sampled_from(WORKLOADS)),
            data.draw(st.sampled_from(list(CATALOG.associations))),
            REF,
            revenue_usd=20000,
            paid_seats=400,
            active_users=400,
        )
    )
    before, after = _scores(held_certs, facts), _scores(held_certs, grown)
    for key, scored in before.items():
        assert after[key].score >= scored.score, key


@PROPERTY
@given(certs_strategy, facts_strategy)
def test_a_designation_with_a_metric_at_zero_is_never_qualified_without_history(
    held_certs: list[tuple[int, str]], facts: list[CustomerFact]
) -> None:
    people = [person(i) for i in range(12)]
    snapshot = DesignationSnapshot("p", people, [cert(i, c) for i, c in held_certs], facts)
    for d in evaluate_designations(CATALOG, snapshot, ON, project=False).designations:
        if any(m.points == 0 for m in d.chosen.metrics):
            assert d.status == "inProgress" and d.qualified_on is None


dated_certs = st.lists(
    st.tuples(st.integers(0, 11), st.sampled_from(CODES), st.integers(-400, 40), st.one_of(st.none(), st.integers(-30, 120))),
    max_size=30,
)


@PROPERTY
@given(dated_certs, facts_strategy, st.integers(1, 6))
def test_the_same_inputs_give_the_same_result_before_stable_until(
    held: list[tuple[int, str, int, int | None]], facts: list[CustomerFact], days: int
) -> None:
    """What the nightly reuse relies on: before ``stable_until`` the result only moves with the
    rolling window's end (today), given the history the previous night kept."""
    achievements = [
        cert(
            n, code, earned=ON + timedelta(days=earned), expires=None if expires is None else ON + timedelta(days=max(earned + 1, expires))
        )
        for n, code, earned, expires in held
    ]
    snapshot = DesignationSnapshot("p", [person(i) for i in range(12)], achievements, facts)
    first = evaluate_designations(CATALOG, snapshot, ON)
    later_day = ON + timedelta(days=days)
    if later_day >= first.stable_until:
        return
    later = evaluate_designations(CATALOG, dataclasses.replace(snapshot, history=first.history), later_day)

    def comparable(view: dict[str, Any]) -> dict[str, Any]:
        for d in view["designations"]:
            d["qualificationWindow"].pop("to")
        return view

    assert comparable(later.to_api()) == comparable(first.to_api())
