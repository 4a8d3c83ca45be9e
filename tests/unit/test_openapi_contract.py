"""The published contract describes every request fully: no open object in a request body
(``additionalProperties: true`` or an object with no declared shape), and the shapes a
client must send carry examples."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from functions.openapi import DOCUMENT_PATH

DOCUMENT = json.loads(DOCUMENT_PATH.read_text())


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = DOCUMENT["components"]["schemas"][name]
    return schema


def _objects(schema: dict[str, Any], where: str, seen: set[int]) -> Iterator[tuple[str, dict[str, Any]]]:
    schema = _resolve(schema)
    if id(schema) in seen:
        return
    seen.add(id(schema))
    types = schema.get("type")
    if types == "object" or (isinstance(types, list) and "object" in types) or "properties" in schema:
        yield where, schema
    for key in ("properties",):
        for name, sub in (schema.get(key) or {}).items():
            yield from _objects(sub, f"{where}.{name}", seen)
    if isinstance(schema.get("items"), dict):
        yield from _objects(schema["items"], f"{where}[]", seen)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _objects(schema["additionalProperties"], f"{where}{{}}", seen)
    for key in ("anyOf", "oneOf", "allOf"):
        for i, sub in enumerate(schema.get(key) or []):
            yield from _objects(sub, f"{where}<{key}{i}>", seen)


def _request_bodies() -> Iterator[tuple[str, dict[str, Any]]]:
    for path, methods in DOCUMENT["paths"].items():
        for method, op in methods.items():
            for media, content in (op.get("requestBody") or {}).get("content", {}).items():
                if media == "application/json":
                    yield f"{method.upper()} {path}", content["schema"]


def test_no_request_body_has_an_open_object() -> None:
    open_objects = []
    for where, schema in _request_bodies():
        for path, obj in _objects(schema, where, set()):
            if obj.get("additionalProperties", True) is True or not obj.get("properties"):
                open_objects.append(path)
    assert open_objects == []


def test_every_json_request_body_has_an_example() -> None:
    missing = [where for where, schema in _request_bodies() if "example" not in _resolve(schema) and "examples" not in _resolve(schema)]
    assert missing == []


def test_feed_answers_describe_the_rejected_item() -> None:
    out = _resolve({"$ref": "#/components/schemas/AchievementsOut"})
    item = _resolve(out["properties"]["rejected"]["items"])
    assert {"index", "reason"} <= set(item["properties"]) and item.get("additionalProperties") is False


def test_every_request_example_is_accepted_by_its_model() -> None:
    import function_app  # noqa: F401  (registers every operation)
    from functions.http import OPERATIONS
    from functions.openapi import _resolve as resolve_reference

    checked = 0
    for op in OPERATIONS:
        if op.request and "application/json" in op.request_types:
            model = resolve_reference(op.request)
            assert isinstance(model, type), f"{op.request}: a request is a model"
            extra = model.model_config.get("json_schema_extra") or {}
            assert isinstance(extra, dict), f"{op.request}: the example is a plain json_schema_extra"
            example = extra["example"]
            model.model_validate(example)
            checked += 1
    assert checked >= 7
