"""The base of the API's answers: pydantic models whose JSON schemas the OpenAPI document
publishes (``functions/openapi.py``).

An answer's model is the one description of its shape: camelCase fields, closed objects
(``additionalProperties: false``). A field typed ``X | Omitted = None`` is left out of the
answer when it has no value (never ``null``); ``X | None`` is ``null`` when it has none.
"""

from __future__ import annotations

from pydantic import ConfigDict, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue, SkipJsonSchema
from pydantic_core import CoreSchema

from shared.documents import ApiModel

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
