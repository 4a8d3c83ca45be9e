"""The catalog, the checks the other tests leave open: every load error on its own (so none
can be switched off unnoticed), the edges of each rule on both sides, and the API shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.domain.catalog import Catalog, CatalogError, Competency, Requirement, load_catalog

EXAMS = [
    {"code": "EX-1", "title": "Exam one", "kind": "exam"},
    {"code": "EX-2", "title": "Exam two", "kind": "exam", "retiredOn": "2026-01-31", "acceptedUntil": "2026-06-30"},
    {"code": "CERT-1", "title": "Certification", "kind": "certification"},
    {"code": "ASMT-1", "title": "Assessment", "kind": "assessment"},
]


def skill(rid: str = "people", kind: str = "certifiedIndividuals", required: float = 1, **codes: Any) -> dict[str, Any]:
    return {"requirementId": rid, "kind": kind, "required": required, **(codes or {"anyOf": ["EX-1"]}), "description": f"{rid} words"}


def performance(rid: str = "revenue", period: str | None = "P12M", **extra: Any) -> dict[str, Any]:
    out = {"requirementId": rid, "kind": "revenueUsd", "required": 1000, "description": "Revenue", **extra}
    if period is not None:
        out["period"] = period
    return out


def competency(cid: str = "alpha", silver: list[dict[str, Any]] | None = None, **changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "competencyId": cid,
        "name": cid.title(),
        "source": "program.md",
        "levels": [
            {"level": "silver", "paths": [{"pathId": "main", "description": "Main", "requirements": silver or [skill()]}]},
            {"level": "gold", "paths": [{"pathId": "main", "description": "Main", "requirements": [skill(required=2), performance()]}]},
        ],
    }
    out.update(changes)
    return out


def write(folder: Path, *competencies: dict[str, Any], index: Any = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for c in competencies:
        name = f"{c['competencyId']}.json"
        while (folder / name).exists():
            name = "again-" + name
        (folder / name).write_text(json.dumps(c))
        names.append(name)
    if index is None:
        index = {"catalogVersion": "t1", "competencies": names, "exams": EXAMS}
    (folder / "catalog.json").write_text(json.dumps(index))
    return folder


def refused(folder: Path) -> str:
    with pytest.raises(CatalogError) as caught:
        load_catalog(folder)
    return str(caught.value)


def test_a_valid_catalog_loads_with_its_lookups(tmp_path: Path) -> None:
    catalog = load_catalog(write(tmp_path, competency("alpha"), competency("beta", silver=[performance(period="P3M")])))
    assert catalog.catalog_version == "t1"
    assert [c.competency_id for c in catalog.competencies] == ["alpha", "beta"]
    assert catalog.competency("beta") is catalog.competencies[1]
    assert catalog.competency("gamma") is None
    assert catalog.by_id == {"alpha": catalog.competencies[0], "beta": catalog.competencies[1]}
    assert sorted(catalog.exam_by_code) == ["ASMT-1", "CERT-1", "EX-1", "EX-2"]
    assert catalog.exam_by_code["EX-2"].accepted_until.isoformat() == "2026-06-30"  # type: ignore[union-attr]
    assert catalog.performance_periods == frozenset({3, 12})
    assert catalog.competencies[0].level("gold").paths[0].requirements[0].required == 2
    assert catalog.competencies[0].level("silver").level == "silver"


def test_the_digest_changes_with_any_edit_and_not_otherwise(tmp_path: Path) -> None:
    one = load_catalog(write(tmp_path / "a", competency()))
    same = load_catalog(write(tmp_path / "b", competency()))
    edited = load_catalog(write(tmp_path / "c", competency(name="Renamed")))
    assert len(one.digest) == 16 and int(one.digest, 16) >= 0
    assert one.digest == same.digest != edited.digest


@pytest.mark.parametrize(
    ("index", "message"),
    [
        ([], "competencies must list the competency files"),
        ({"catalogVersion": "t1", "exams": []}, "competencies must list the competency files"),
        ({"catalogVersion": "t1", "competencies": "alpha.json", "exams": []}, "competencies must list the competency files"),
    ],
)
def test_an_index_without_a_list_of_files_is_refused(tmp_path: Path, index: Any, message: str) -> None:
    assert refused(write(tmp_path, competency(), index=index)) == f"{tmp_path / 'catalog.json'}: {message}"


def test_a_missing_or_unreadable_file_is_named(tmp_path: Path) -> None:
    assert refused(tmp_path / "nowhere") == f"{tmp_path / 'nowhere' / 'catalog.json'}: file not found"
    folder = write(tmp_path / "x", competency())
    (folder / "alpha.json").write_text("{not json")
    assert refused(folder).startswith(f"{folder / 'alpha.json'}: not valid JSON (")
    (folder / "alpha.json").unlink()
    assert refused(folder) == f"{folder / 'alpha.json'}: file not found"


def test_index_fields_are_checked_and_named(tmp_path: Path) -> None:
    folder = write(tmp_path, competency(), index={"catalogVersion": "", "competencies": ["alpha.json"], "exams": EXAMS})
    (folder / "alpha.json").write_text(json.dumps(competency()))
    assert refused(folder) == f"{folder / 'catalog.json'}: catalogVersion: String should have at least 1 character"


def test_the_same_competency_twice_is_refused(tmp_path: Path) -> None:
    assert refused(write(tmp_path, competency(), competency())) == f"{tmp_path / 'catalog.json'}: competencyId values must be unique"


def test_duplicate_path_ids_within_a_level_are_refused(tmp_path: Path) -> None:
    c = competency()
    c["levels"][0]["paths"].append(dict(c["levels"][0]["paths"][0]))
    assert refused(write(tmp_path, c)) == f"{tmp_path / 'alpha.json'}: levels.0: Value error, pathId values must be unique within a level"


def test_the_same_path_id_on_both_levels_is_fine_and_different_ids_on_one_level_too(tmp_path: Path) -> None:
    c = competency()
    c["levels"][0]["paths"].append({"pathId": "other", "description": "Other", "requirements": [skill()]})
    catalog = load_catalog(write(tmp_path, c))
    assert [p.path_id for p in catalog.competencies[0].level("silver").paths] == ["main", "other"]


def test_duplicate_requirement_ids_within_a_path_are_refused(tmp_path: Path) -> None:
    c = competency(silver=[skill("same"), skill("same", anyOf=["CERT-1"])])
    assert refused(write(tmp_path, c)).startswith(
        f"{tmp_path / 'alpha.json'}: levels.0.paths.0: Value error, requirementId values must be unique within a path"
    )


@pytest.mark.parametrize(
    ("requirement", "message"),
    [
        (performance(anyOf=["EX-1"]), "a performance requirement has no codes"),
        (performance(allOf=["EX-1"]), "a performance requirement has no codes"),
        (performance(period=None), "a performance requirement needs a period such as P12M"),
        (performance(period="12M"), "a performance requirement needs a period such as P12M"),
        (performance(period="P1234M"), "a performance requirement needs a period such as P12M"),
        (performance(period="P12MX"), "a performance requirement needs a period such as P12M"),
        ({**skill(), "anyOf": []}, "a skill requirement needs allOf, anyOf or anyOfSets codes"),
        ({**skill(), "period": "P12M"}, "period applies to performance requirements only"),
        (skill(required=1.5), "a number of individuals must be whole"),
    ],
)
def test_each_requirement_shape_rule_refuses_on_its_own(tmp_path: Path, requirement: dict[str, Any], message: str) -> None:
    # Pydantic goes on to say the emptied containers are short: the first problem is the one.
    assert refused(write(tmp_path, competency(silver=[requirement]))).startswith(
        f"{tmp_path / 'alpha.json'}: levels.0.paths.0.requirements.0: Value error, {message};"
    )


@pytest.mark.parametrize(
    "requirement",
    [
        performance(period="P1M"),
        performance(period="P999M"),
        skill(allOf=["EX-1"]),
        skill(allOf=["EX-1"], anyOf=["CERT-1"]),
        skill(required=3.0),
        skill("a", "assessedIndividuals", anyOf=["ASMT-1"]),
        skill(anyOf=["EX-1", "CERT-1"]),
    ],
)
def test_well_formed_requirements_load(tmp_path: Path, requirement: dict[str, Any]) -> None:
    load_catalog(write(tmp_path, competency(silver=[requirement])))


@pytest.mark.parametrize(
    ("requirement", "message"),
    [
        (skill("a", "assessedIndividuals", anyOf=["ASMT-1", "EX-1"]), "a: assessedIndividuals lists only assessments"),
        (skill("a", "assessedIndividuals", anyOf=["CERT-1"]), "a: assessedIndividuals lists only assessments"),
        (skill("c", anyOf=["EX-1", "ASMT-1"]), "c: certifiedIndividuals lists no assessments"),
        (skill("c", allOf=["ASMT-1"]), "c: certifiedIndividuals lists no assessments"),
    ],
)
def test_requirement_kinds_must_match_the_kinds_of_their_codes(tmp_path: Path, requirement: dict[str, Any], message: str) -> None:
    assert refused(write(tmp_path, competency(silver=[requirement]))) == f"{tmp_path / 'alpha.json'}: {message}"


def test_unknown_codes_are_named_with_where_they_are(tmp_path: Path) -> None:
    c = competency("beta")
    c["levels"][1]["paths"][0]["requirements"][0] = skill("pros", allOf=["ZZ-2", "EX-1"], anyOf=["AA-1"])
    assert refused(write(tmp_path, competency(), c)) == (
        f"{tmp_path / 'beta.json'}: levels.gold.paths.main.requirements.pros: "
        "unknown codes AA-1, ZZ-2 (list them under exams in catalog.json)"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"levels": []}, "(document): Value error, levels must be silver then gold, once each"),
        ({"name": ""}, "name: String should have at least 1 character"),
        ({"surprise": 1}, "surprise: Extra inputs are not permitted"),
    ],
)
def test_competency_fields_are_named(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    assert refused(write(tmp_path, competency(**change))) == f"{tmp_path / 'alpha.json'}: {message}"


def test_a_bad_competency_id_is_named(tmp_path: Path) -> None:
    assert refused(write(tmp_path, competency("Bad_Id"))) == (
        f"{tmp_path / 'Bad_Id.json'}: competencyId: String should match pattern '^[a-z0-9][a-z0-9-]{{0,63}}$'"
    )


def test_levels_out_of_order_are_refused(tmp_path: Path) -> None:
    c = competency()
    c["levels"].reverse()
    assert refused(write(tmp_path, c)).endswith("levels must be silver then gold, once each")


def test_a_document_that_is_not_an_object_is_named_as_the_document(tmp_path: Path) -> None:
    folder = write(tmp_path, competency())
    (folder / "alpha.json").write_text("[]")
    assert refused(folder).startswith(f"{folder / 'alpha.json'}: (document): ")


# --- derived values and the API shape ---------------------------------------------------------


def test_a_requirements_derived_values() -> None:
    skill_req = Requirement.model_validate(skill(allOf=["B", "A"], anyOf=["C", "A"]))
    assert (skill_req.is_skill, skill_req.months) == (True, 0)
    assert skill_req.codes == frozenset({"A", "B", "C"})
    assert skill_req.sorted_codes == ("A", "B", "C")
    perf = Requirement.model_validate(performance(period="P24M"))
    assert (perf.is_skill, perf.months, perf.codes, perf.sorted_codes) == (False, 24, frozenset(), ())
    assert Requirement.model_validate(skill("x", "assessedIndividuals", anyOf=["Q"])).is_skill is True


def test_the_api_shape_of_a_competency() -> None:
    c = Competency.model_validate(
        competency(
            silver=[
                skill("both", required=2, allOf=["EX-1"], anyOf=["CERT-1", "EX-2"]),
                performance("seats", period="P3M", required=12.5, aggregate="latest"),
            ]
        )
    )
    assert c.to_api() == {
        "competencyId": "alpha",
        "name": "Alpha",
        "source": "program.md",
        "levels": [
            {
                "level": "silver",
                "paths": [
                    {
                        "pathId": "main",
                        "description": "Main",
                        "requirements": [
                            {
                                "requirementId": "both",
                                "kind": "certifiedIndividuals",
                                "required": 2,
                                "allOf": ["EX-1"],
                                "anyOf": ["CERT-1", "EX-2"],
                                "description": "both words",
                            },
                            {
                                "requirementId": "seats",
                                "kind": "revenueUsd",
                                "required": 12.5,
                                "period": "P3M",
                                "aggregate": "latest",
                                "description": "Revenue",
                            },
                        ],
                    }
                ],
            },
            {
                "level": "gold",
                "paths": [
                    {
                        "pathId": "main",
                        "description": "Main",
                        "requirements": [
                            {
                                "requirementId": "people",
                                "kind": "certifiedIndividuals",
                                "required": 2,
                                "anyOf": ["EX-1"],
                                "description": "people words",
                            },
                            {
                                "requirementId": "revenue",
                                "kind": "revenueUsd",
                                "required": 1000,
                                "period": "P12M",
                                "aggregate": "sum",
                                "description": "Revenue",
                            },
                        ],
                    }
                ],
            },
        ],
    }
    assert isinstance(c.to_api()["levels"][1]["paths"][0]["requirements"][0]["required"], int)


def test_the_api_shape_of_the_catalog(tmp_path: Path) -> None:
    catalog: Catalog = load_catalog(write(tmp_path, competency()))
    api = catalog.to_api()
    assert api["catalogVersion"] == "t1"
    assert api["competencies"] == [catalog.competencies[0].to_api()]
    assert api["exams"] == EXAMS


def test_a_requirement_with_sets_of_codes_lists_them_in_the_api() -> None:
    r = Requirement.model_validate(skill(anyOfSets=[["EX-1", "ASMT-1"], ["CERT-1"]]))
    assert r.to_api() == {
        "requirementId": "people",
        "kind": "certifiedIndividuals",
        "required": 1,
        "anyOfSets": [["EX-1", "ASMT-1"], ["CERT-1"]],
        "description": "people words",
    }
