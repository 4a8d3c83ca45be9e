"""Every row of the program's requirement table (CATALOG_FACTS) as written: a partner that
meets it exactly reaches the level, and one that falls one short (a person, a code, a unit
of a figure) does not."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import NamedTuple

import pytest

from shared.domain.catalog import load_catalog
from shared.domain.evaluation import Achievement, MetricFigure, PartnerSnapshot, Person, evaluate

CATALOG = load_catalog()
KIND = {code: exam.kind for code, exam in CATALOG.exam_by_code.items()}
ON = date(2026, 11, 25)
AT = datetime(2026, 11, 25, 2, tzinfo=UTC)
AS_OF = date(2026, 10, 31)


class Row(NamedTuple):
    name: str
    competency: str
    level: str
    people: list[list[str]]  # each person's codes
    metrics: dict[str, float]
    shorts: list[tuple[str, list[list[str]]]] = []  # named variants of people that fall one short


def snapshot(competency: str, people: list[list[str]], metrics: dict[str, float]) -> PartnerSnapshot:
    return PartnerSnapshot(
        "p1",
        people=[Person(f"u{i}", f"P{i}", True, f"m{i}") for i in range(len(people))],
        achievements=[Achievement(f"m{i}", KIND[c], c, date(2026, 1, 1)) for i, codes in enumerate(people) for c in codes],
        metrics=[MetricFigure(metric, competency, AS_OF, value) for metric, value in metrics.items()],
    )


def level_met(row: Row, people: list[list[str]], metrics: dict[str, float]) -> bool:
    e = evaluate(CATALOG, snapshot(row.competency, people, metrics), ON, evaluated_at=AT)
    c = next(c for c in e.competencies if c.competency.competency_id == row.competency)
    return next(lv for lv in c.levels if lv.level == row.level).met


AZ, ASMT = "70-533", "ASMT-CLOUD-PLATFORM"
O365 = ["70-346", "70-347"]
BI, BIGDATA, FOUND = ["70-767", "70-768"], ["70-475", "70-775"], "ASMT-DA-FOUNDATIONAL"
ALM = ["70-496", "70-498"]
MB2 = ["MB2-715", "MB2-716", "MB2-717"]

ROWS = [
    Row("cloud-platform silver, exam", "cloud-platform", "silver", [[AZ]], {"revenueUsd": 15000}),
    Row("cloud-platform silver, assessment", "cloud-platform", "silver", [[ASMT]], {"revenueUsd": 15000}),
    Row("cloud-platform gold, one exam and one assessment", "cloud-platform", "gold", [[AZ], [ASMT]], {"revenueUsd": 100000}),
    Row("cloud-platform gold, two exams", "cloud-platform", "gold", [["70-535"], ["70-475"]], {"revenueUsd": 100000}),
    Row(
        "cloud-productivity silver, both exams",
        "cloud-productivity",
        "silver",
        [O365],
        {"activeUsage": 2000},
        [("one exam of two", [["70-346"]])],
    ),
    Row("cloud-productivity silver, MCSA", "cloud-productivity", "silver", [["MCSA-OFFICE-365"]], {"activeUsage": 2000}),
    Row(
        "cloud-productivity gold, exams and MCSA",
        "cloud-productivity",
        "gold",
        [O365, ["MCSA-OFFICE-365"]],
        {"activeUsage": 4000},
        [("one exam of two", [["70-347"], ["MCSA-OFFICE-365"]])],
    ),
    Row(
        "data-analytics silver, specialist BI",
        "data-analytics",
        "silver",
        [[*BI, FOUND]],
        {},
        [("exams and assessment split over two people", [BI, [FOUND]]), ("one focus-area exam short", [["70-767", FOUND]])],
    ),
    Row(
        "data-analytics silver, specialist big data",
        "data-analytics",
        "silver",
        [[*BIGDATA, FOUND]],
        {},
        [("exams of two areas mixed", [["70-767", "70-775", FOUND]])],
    ),
    Row(
        "data-analytics gold, specialists of two areas",
        "data-analytics",
        "gold",
        [[*BI, FOUND], ["70-773", "70-774", FOUND]],
        {},
        [("one without the assessment", [[*BI, FOUND], ["70-773", "70-774"]])],
    ),
    Row(
        "data-analytics silver, beginners",
        "data-analytics",
        "silver",
        [[FOUND, "ASMT-DA-BI"], [FOUND, "ASMT-DA-BIG-DATA"]],
        {},
        [("no area assessment", [[FOUND, "ASMT-DA-BI"], [FOUND]])],
    ),
    Row(
        "data-analytics gold, beginners",
        "data-analytics",
        "gold",
        [[FOUND, "ASMT-DA-BI"]] * 2 + [[FOUND, "ASMT-DA-ADVANCED-ANALYTICS"]] * 2,
        {},
    ),
    Row("data-analytics silver, Power BI", "data-analytics", "silver", [["ASMT-DA-BI"]], {"deployedSeats": 250}),
    Row("data-analytics gold, Power BI", "data-analytics", "gold", [["ASMT-DA-BI"]] * 2, {"deployedSeats": 1000}),
    Row("application-development silver, web", "application-development", "silver", [["70-480"], ["70-486"]], {}),
    Row("application-development silver, UWP", "application-development", "silver", [["70-357"], ["70-355"]], {}),
    Row("application-development silver, Azure", "application-development", "silver", [["70-532"], ["70-487"]], {}),
    Row("application-development gold", "application-development", "gold", [["MCSD-APP-BUILDER"]] * 4, {}),
    Row("datacenter silver", "datacenter", "silver", [["74-409"], ["70-744"]], {}),
    Row(
        "datacenter gold",
        "datacenter",
        "gold",
        [["MCSA-WINDOWS-SERVER-2012"]] * 2 + [["MCSA-WINDOWS-SERVER-2016"]] * 2,
        {},
    ),
    Row("small-midmarket silver", "small-midmarket-cloud-solutions", "silver", [], {"newCustomers": 4}),
    Row("small-midmarket gold", "small-midmarket-cloud-solutions", "gold", [["70-347"]] * 2, {"newCustomers": 25}),
    Row(
        "devops silver",
        "devops",
        "silver",
        [[*ALM, "PSM-I"], ALM],
        {},
        [("nobody holds the agile credential", [ALM, ALM]), ("one ALM exam short", [[*ALM, "PSM-I"], ["70-496"]])],
    ),
    Row(
        "devops gold",
        "devops",
        "gold",
        [[*ALM, "70-497"], [*ALM, "CSM"], ALM, ALM],
        {},
        [("one agile credential", [[*ALM, "70-497"], ALM, ALM, ALM])],
    ),
    Row(
        "enterprise-mobility silver, enterprise",
        "enterprise-mobility-management",
        "silver",
        [["ASMT-EMS"]] * 2,
        {"newCustomers": 3, "activeUsage": 500},
    ),
    Row("enterprise-mobility silver, SMB", "enterprise-mobility-management", "silver", [], {"newCustomers": 20, "activeUsage": 125}),
    Row(
        "enterprise-mobility gold, enterprise",
        "enterprise-mobility-management",
        "gold",
        [["ASMT-EMS"]] * 4,
        {"newCustomers": 5, "activeUsage": 4000},
    ),
    Row(
        "cloud-business-applications silver",
        "cloud-business-applications",
        "silver",
        [MB2] * 4 + [["MB2-715", "MB2-716", "MB2-877"]],
        {"revenueUsd": 100000},
        [("one without the third exam", [MB2] * 4 + [["MB2-715", "MB2-716"]])],
    ),
    Row("cloud-business-applications gold", "cloud-business-applications", "gold", [MB2] * 15, {"revenueUsd": 300000}),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_a_partner_meeting_the_row_exactly_reaches_the_level(row: Row) -> None:
    assert level_met(row, row.people, row.metrics)


def _one_short(row: Row) -> list[tuple[str, list[list[str]], dict[str, float]]]:
    cases = [(name, people, row.metrics) for name, people in row.shorts]
    if row.people:
        cases.append(("one person short", row.people[:-1], row.metrics))
    cases += [(f"{metric} one short", row.people, {**row.metrics, metric: value - 1}) for metric, value in row.metrics.items()]
    return cases


SHORT = [(row, *case) for row in ROWS for case in _one_short(row)]


@pytest.mark.parametrize(("row", "case", "people", "metrics"), SHORT, ids=[f"{s[0].name}: {s[1]}" for s in SHORT])
def test_a_partner_one_short_of_the_row_does_not(row: Row, case: str, people: list[list[str]], metrics: dict[str, float]) -> None:
    assert not level_met(row, people, metrics)


def test_requirement_kinds_span_exams_and_assessments() -> None:
    kinds = {r.kind for c in CATALOG.competencies for lv in c.levels for p in lv.paths for r in p.requirements}
    assert "qualifiedIndividuals" in kinds
