"""The competency catalog: data files under ``shared/catalog`` validated on load.

``catalog.json`` names the version, the competency files and every exam, certification and
assessment with its retirement grace (``acceptedUntil``). A broken file stops start-up with
a message naming the file and the field.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

SHIPPED_CATALOG = Path(__file__).resolve().parent.parent / "catalog"
# The kinds of requirement, each listed once: the types, and the tuples the rules iterate.
SkillKind = Literal["certifiedIndividuals", "assessedIndividuals", "qualifiedIndividuals"]
PerformanceKind = Literal["revenueUsd", "activeUsage", "deployedSeats", "newCustomers"]  # what the feeds report
RequirementKind = Literal[SkillKind, PerformanceKind]
SKILL_KINDS: tuple[SkillKind, ...] = get_args(SkillKind)
PERFORMANCE_KINDS: tuple[PerformanceKind, ...] = get_args(PerformanceKind)
LEVELS = ("silver", "gold")
LEVEL_RANK = {"none": 0, "silver": 1, "gold": 2}
Level = Literal["silver", "gold"]
_ID = r"^[a-z0-9][a-z0-9-]{0,63}$"
_PERIOD = re.compile(r"P(\d{1,3})M")


class CatalogError(RuntimeError):
    """The catalog is broken; the message names the file and the field."""


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class Exam(_Model):
    code: str = Field(min_length=1, max_length=64)
    title: str
    kind: Literal["exam", "certification", "assessment"]
    retired_on: date | None = None
    accepted_until: date | None = None  # a retired exam still counts until this day (inclusive)


class Requirement(_Model):
    requirement_id: str = Field(pattern=_ID)
    kind: RequirementKind
    required: float = Field(gt=0)
    all_of: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()
    # The person holds every code of at least one of these sets ("all exams of one focus
    # area", "both exams, or the certification").
    any_of_sets: tuple[tuple[str, ...], ...] = ()
    period: str | None = None
    aggregate: Literal["sum", "latest"] = "sum"
    description: str = Field(min_length=1)

    @model_validator(mode="after")
    def _shape(self) -> Requirement:
        if self.kind in SKILL_KINDS:
            if not self.all_of and not self.any_of and not self.any_of_sets:
                raise ValueError("a skill requirement needs allOf, anyOf or anyOfSets codes")
            if any(not s for s in self.any_of_sets):
                raise ValueError("anyOfSets lists non-empty sets of codes")
            if self.period is not None:
                raise ValueError("period applies to performance requirements only")
            if self.required != int(self.required):
                raise ValueError("a number of individuals must be whole")
        else:
            if self.all_of or self.any_of or self.any_of_sets:
                raise ValueError("a performance requirement has no codes")
            if self.period is None or not _PERIOD.fullmatch(self.period):
                raise ValueError("a performance requirement needs a period such as P12M")
        return self

    # Cached: the engine asks for these for every partner of the nightly run.
    @cached_property
    def is_skill(self) -> bool:
        return self.kind in SKILL_KINDS

    @cached_property
    def months(self) -> int:
        match = _PERIOD.fullmatch(self.period or "")
        return int(match.group(1)) if match else 0

    @cached_property
    def codes(self) -> frozenset[str]:
        return frozenset(self.all_of) | frozenset(self.any_of) | frozenset(c for s in self.any_of_sets for c in s)

    @cached_property
    def sorted_codes(self) -> tuple[str, ...]:
        return tuple(sorted(self.codes))

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"requirementId": self.requirement_id, "kind": self.kind, "required": plain_number(self.required)}
        if self.all_of:
            out["allOf"] = list(self.all_of)
        if self.any_of:
            out["anyOf"] = list(self.any_of)
        if self.any_of_sets:
            out["anyOfSets"] = [list(s) for s in self.any_of_sets]
        if self.period:
            out["period"] = self.period
            out["aggregate"] = self.aggregate
        out["description"] = self.description
        return out


class Path_(_Model):
    path_id: str = Field(pattern=_ID)
    description: str = Field(min_length=1)
    requirements: tuple[Requirement, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Path_:
        ids = [r.requirement_id for r in self.requirements]
        if len(ids) != len(set(ids)):
            raise ValueError("requirementId values must be unique within a path")
        return self


class LevelSpec(_Model):
    level: Level
    paths: tuple[Path_, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> LevelSpec:
        ids = [p.path_id for p in self.paths]
        if len(ids) != len(set(ids)):
            raise ValueError("pathId values must be unique within a level")
        return self


class Competency(_Model):
    competency_id: str = Field(pattern=_ID)
    name: str = Field(min_length=1)
    source: str = Field(min_length=1, description="The program page the requirements come from.")
    levels: tuple[LevelSpec, ...]

    @model_validator(mode="after")
    def _both_levels(self) -> Competency:
        if [lv.level for lv in self.levels] != list(LEVELS):
            raise ValueError("levels must be silver then gold, once each")
        return self

    def level(self, level: str) -> LevelSpec:
        return next(lv for lv in self.levels if lv.level == level)

    def to_api(self) -> dict[str, Any]:
        return {
            "competencyId": self.competency_id,
            "name": self.name,
            "source": self.source,
            "levels": [
                {
                    "level": lv.level,
                    "paths": [
                        {"pathId": p.path_id, "description": p.description, "requirements": [r.to_api() for r in p.requirements]}
                        for p in lv.paths
                    ],
                }
                for lv in self.levels
            ],
        }


class Catalog(_Model):
    catalog_version: str = Field(min_length=1, max_length=32)
    competencies: tuple[Competency, ...] = Field(min_length=1)
    exams: tuple[Exam, ...]

    @cached_property
    def exam_by_code(self) -> dict[str, Exam]:
        return {e.code: e for e in self.exams}

    @cached_property
    def grace_ends(self) -> dict[str, date]:
        """code → the first day a retired exam no longer counts (the day after acceptedUntil)."""
        return {e.code: e.accepted_until + timedelta(days=1) for e in self.exams if e.accepted_until is not None}

    @cached_property
    def by_id(self) -> dict[str, Competency]:
        return {c.competency_id: c for c in self.competencies}

    @cached_property
    def performance_periods(self) -> frozenset[int]:
        """The trailing periods (months) the performance requirements use."""
        return frozenset(r.months for c in self.competencies for lv in c.levels for p in lv.paths for r in p.requirements if not r.is_skill)

    @cached_property
    def digest(self) -> str:
        """Changes with any edit of the catalog, even one that forgot to bump the version."""
        import hashlib

        return hashlib.sha1(self.model_dump_json(by_alias=True).encode(), usedforsecurity=False).hexdigest()[:16]

    def competency(self, competency_id: str) -> Competency | None:
        return self.by_id.get(competency_id)

    def to_api(self) -> dict[str, Any]:
        return {
            "catalogVersion": self.catalog_version,
            "competencies": [c.to_api() for c in self.competencies],
            "exams": [e.model_dump(mode="json", by_alias=True, exclude_none=True) for e in self.exams],
        }


def plain_number(value: float) -> float | int:
    """A figure as the API shows it: a whole number without ".0", anything else to two decimals."""
    return int(value) if float(value).is_integer() else round(value, 2)


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError(f"{path}: file not found") from None
    except ValueError as exc:
        raise CatalogError(f"{path}: not valid JSON ({exc})") from None


def _fields(path: Path, error: ValidationError) -> CatalogError:
    problems = "; ".join(f"{'.'.join(str(p) for p in item['loc']) or '(document)'}: {item['msg']}" for item in error.errors())
    return CatalogError(f"{path}: {problems}")


def load_catalog(folder: Path | None = None) -> Catalog:
    folder = folder or SHIPPED_CATALOG
    index_path = folder / "catalog.json"
    index = _read(index_path)
    if not isinstance(index, dict) or not isinstance(index.get("competencies"), list):
        raise CatalogError(f"{index_path}: competencies must list the competency files")
    competencies = []
    for name in index["competencies"]:
        path = folder / str(name)
        try:
            competencies.append(Competency.model_validate(_read(path)))
        except ValidationError as exc:
            raise _fields(path, exc) from None
    try:
        catalog = Catalog.model_validate({**index, "competencies": competencies})
    except ValidationError as exc:
        raise _fields(index_path, exc) from None
    ids = [c.competency_id for c in catalog.competencies]
    if len(ids) != len(set(ids)):
        raise CatalogError(f"{index_path}: competencyId values must be unique")
    for competency, name in zip(catalog.competencies, index["competencies"], strict=True):
        for lv in competency.levels:
            for path_ in lv.paths:
                for r in path_.requirements:
                    unknown = sorted(r.codes - catalog.exam_by_code.keys())
                    if unknown:
                        raise CatalogError(
                            f"{folder / str(name)}: levels.{lv.level}.paths.{path_.path_id}.requirements.{r.requirement_id}: "
                            f"unknown codes {', '.join(unknown)} (list them under exams in catalog.json)"
                        )
                    kinds = {catalog.exam_by_code[c].kind for c in r.codes}
                    if r.kind == "assessedIndividuals" and kinds != {"assessment"}:
                        raise CatalogError(f"{folder / str(name)}: {r.requirement_id}: assessedIndividuals lists only assessments")
                    if r.kind == "certifiedIndividuals" and "assessment" in kinds:
                        raise CatalogError(f"{folder / str(name)}: {r.requirement_id}: certifiedIndividuals lists no assessments")
    return catalog
