"""The base of the API's answers: pydantic models whose JSON schemas the OpenAPI document
publishes (``functions/openapi.py``).

An answer's model is the one description of its shape: camelCase fields, closed objects
(``additionalProperties: false``). A field typed ``X | Omitted = None`` is left out of the
answer when it has no value (never ``null``); ``X | None`` is ``null`` when it has none.

A service's answers live next to the service; here are those no service owns (the
competency catalog, answered straight from the loaded catalog).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue, SkipJsonSchema
from pydantic_core import CoreSchema

from shared.documents import ApiModel
from shared.domain.catalog import Level, RequirementKind

Omitted = SkipJsonSchema[None]
"""The value of a field the answer leaves out: the schema does not allow ``null`` for it."""


class ApiOut(ApiModel):
    """An answer of the API: camelCase, closed, strings kept as they are."""

    model_config = ConfigDict(str_strip_whitespace=False)

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        # ``default: null`` says nothing a client can use (an absent field is not null).
        for prop in handler.resolve_ref_schema(schema).get("properties", {}).values():
            if "default" in prop and prop["default"] is None:
                del prop["default"]
        return schema


# --- the competency catalog (``Catalog.to_api``) ----------------------------------------------


class CatalogRequirementOut(ApiOut):
    requirement_id: str
    kind: RequirementKind
    required: float
    all_of: list[str] | Omitted = None
    any_of: list[str] | Omitted = None
    any_of_sets: list[Annotated[list[str], Field(min_length=1)]] | Omitted = None
    period: str | Omitted = None
    aggregate: Literal["sum", "latest"] | Omitted = None
    description: str


class CatalogPathOut(ApiOut):
    path_id: str
    description: str
    requirements: list[CatalogRequirementOut]


class CatalogLevelOut(ApiOut):
    level: Level
    paths: list[CatalogPathOut]


class CatalogCompetencyOut(ApiOut):
    competency_id: str
    name: str
    source: str | Omitted = None
    levels: list[CatalogLevelOut]


class CatalogExamOut(ApiOut):
    code: str
    title: str
    kind: Literal["exam", "certification", "assessment"]
    retired_on: date | Omitted = None
    accepted_until: date | Omitted = None


class CatalogOut(ApiOut):
    """The competency catalog: competencies, levels, paths, requirements and the exams they name."""

    catalog_version: str
    competencies: list[CatalogCompetencyOut]
    exams: list[CatalogExamOut] | Omitted = None
