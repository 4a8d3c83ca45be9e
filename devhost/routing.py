"""The Functions host's HTTP route table, built from a ``FunctionApp``'s own registrations.

What the host does, and so what this does:

* every HTTP function's route template (the function name when it has none) is mapped below
  ``extensions.http.routePrefix`` of host.json (``api`` by default; empty means none);
* the routes are kept in **function-name order** (case-insensitive, as .NET's
  ``OrdinalIgnoreCase`` compares) and the **first** template that matches the path, with a
  method the function accepts, wins: there is no precedence of literals over parameters and
  no 405 (azure-functions-host issues 3153, 6062, 9876);
* literal segments match case-insensitively; ``{name}``, ``{name?}``, ``{*rest}``/``{**rest}``,
  ``{name=default}`` and the ASP.NET route constraints (``{id:int}``, ``{s:minlength(3)}``…);
* a route under ``admin`` or a second function with the same template and a common method
  is refused (the host puts such a function "in error"; here start-up stops);
* the request path is decoded the way Kestrel does before matching: percent-escapes are
  decoded except ``%2F`` (a ``/`` inside a segment stays ``%2F`` in the route value) and dot
  segments are removed.

``overlaps`` answers a stricter question the host never asks: can one path reach two
functions with a common method? The suite keeps that empty, so no operation depends on order.
"""

from __future__ import annotations

import itertools
import re
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

ALL_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT"})

_PARAMETER = re.compile(r"\{(?P<star>\*{1,2})?(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<rest>[^{}]*)\}")


class RouteError(ValueError):
    """A route template or a set of routes the host would not accept."""


# --- constraints (ASP.NET Core's inline route constraints) ------------------------------------


def _is_int(value: str, bits: int) -> bool:
    if not re.fullmatch(r"[+-]?[0-9]+", value):
        return False
    return -(2 ** (bits - 1)) <= int(value) < 2 ** (bits - 1)


def _is_decimal(value: str) -> bool:
    try:
        Decimal(value)
    except InvalidOperation:
        return False
    return bool(re.fullmatch(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", value))


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _constraint(text: str, template: str) -> Callable[[str], bool]:
    m = re.fullmatch(r"(?P<kind>[A-Za-z]+)(?:\((?P<args>.*)\))?", text)
    if not m:
        raise RouteError(f"the constraint '{text}' on the route '{template}' could not be resolved")
    kind, args = m.group("kind").lower(), m.group("args")
    numbers = [a.strip() for a in args.split(",")] if args is not None and kind != "regex" else []

    def number(i: int) -> int:
        try:
            return int(numbers[i])
        except (IndexError, ValueError):
            raise RouteError(f"the constraint '{text}' on the route '{template}' needs integer arguments") from None

    simple: dict[str, Callable[[str], bool]] = {
        "int": lambda v: _is_int(v, 32),
        "long": lambda v: _is_int(v, 64),
        "bool": lambda v: v.lower() in ("true", "false"),
        "guid": _is_guid,
        "decimal": _is_decimal,
        "double": _is_decimal,
        "float": _is_decimal,
        "datetime": _is_datetime,
        "alpha": lambda v: bool(re.fullmatch(r"[A-Za-z]+", v)),
        "required": lambda v: v != "",
    }
    if kind in simple and args is None:
        return simple[kind]
    if kind == "minlength":
        low = number(0)
        return lambda v: len(v) >= low
    if kind == "maxlength":
        high = number(0)
        return lambda v: len(v) <= high
    if kind == "length":
        low, high = (number(0), number(1)) if len(numbers) == 2 else (number(0), number(0))
        return lambda v: low <= len(v) <= high
    if kind in ("min", "max", "range"):
        floor = number(0) if kind != "max" else None
        ceiling = number(0) if kind == "max" else number(1) if kind == "range" else None
        return lambda v: _is_int(v, 64) and (floor is None or int(v) >= floor) and (ceiling is None or int(v) <= ceiling)
    if kind == "regex" and args:
        pattern = re.compile(args, re.IGNORECASE)
        return lambda v: pattern.search(v) is not None
    raise RouteError(f"the constraint '{text}' on the route '{template}' could not be resolved")


# --- templates ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    literal: str | None = None  # a literal segment, or None for a parameter
    name: str = ""
    optional: bool = False
    catch_all: bool = False
    default: str | None = None
    constraints: tuple[Callable[[str], bool], ...] = ()

    def accepts(self, value: str) -> bool:
        return all(check(value) for check in self.constraints)


def parse_template(template: str) -> tuple[Segment, ...]:
    """``partners/{partnerId}/users`` → segments; refuses what the host would refuse."""
    text = template.strip("/")
    if not text:
        return ()
    segments: list[Segment] = []
    parts = text.split("/")
    for index, part in enumerate(parts):
        if "{" not in part and "}" not in part:
            if not part:
                raise RouteError(f"the route '{template}' has an empty segment")
            segments.append(Segment(literal=part))
            continue
        m = _PARAMETER.fullmatch(part)
        if not m:
            raise RouteError(f"the route '{template}': '{part}' mixes literals and parameters in one segment (not supported here)")
        rest = m.group("rest")
        default = None
        if "=" in rest:
            rest, default = rest.split("=", 1)
        optional = rest.endswith("?")
        rest = rest.removesuffix("?")
        constraints = tuple(_constraint(c, template) for c in rest.split(":")[1:]) if rest else ()
        if rest and not rest.startswith(":"):
            raise RouteError(f"the route '{template}': '{part}' is not a valid parameter")
        catch_all = bool(m.group("star"))
        if catch_all and index != len(parts) - 1:
            raise RouteError(f"the route '{template}': a catch-all parameter must be the last segment")
        segments.append(
            Segment(
                name=m.group("name"),
                optional=optional or default is not None,
                catch_all=catch_all,
                default=default,
                constraints=constraints,
            )
        )
    names = [s.name for s in segments if s.literal is None]
    if len(names) != len({n.lower() for n in names}):
        raise RouteError(f"the route '{template}' uses a parameter name twice")
    for before, after in itertools.pairwise(segments):
        if before.optional and not (after.optional or after.catch_all):
            raise RouteError(f"the route '{template}': an optional parameter must be at the end")
    return tuple(segments)


def _match_segments(segments: tuple[Segment, ...], parts: list[str]) -> dict[str, str] | None:
    values: dict[str, str] = {}
    for index, segment in enumerate(segments):
        if segment.catch_all:
            rest = "/".join(parts[index:])
            if rest:
                if not segment.accepts(rest):
                    return None
                values[segment.name] = rest
            elif segment.default is not None:
                values[segment.name] = segment.default
            return values
        if index >= len(parts):
            if not segment.optional:
                return None
            if segment.default is not None:
                values[segment.name] = segment.default
            continue
        part = parts[index]
        if segment.literal is not None:
            if part.upper() != segment.literal.upper():
                return None
        elif not part or not segment.accepts(part):
            return None
        else:
            values[segment.name] = part
    return values if len(parts) <= len(segments) else None


# --- the request path, as Kestrel hands it to routing ------------------------------------------


def _decode_keeping_slashes(raw: str) -> str:
    """Percent-decode UTF-8 escapes except ``%2F``; an invalid sequence stays as it was."""
    out = bytearray()
    i = 0
    data = raw.encode("utf-8", "surrogateescape")
    while i < len(data):
        if data[i : i + 1] == b"%" and re.fullmatch(rb"[0-9A-Fa-f]{2}", data[i + 1 : i + 3] or b""):
            byte = int(data[i + 1 : i + 3], 16)
            if byte == 0x2F:
                out += data[i : i + 3]
            else:
                out.append(byte)
            i += 3
        else:
            out.append(data[i])
            i += 1
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def _remove_dot_segments(path: str) -> str:
    result: list[str] = []
    parts = path.split("/")
    for index, part in enumerate(parts):
        if part == ".":
            if index == len(parts) - 1:
                result.append("")
            continue
        if part == "..":
            if len(result) > 1:
                result.pop()
            if index == len(parts) - 1:
                result.append("")
            continue
        result.append(part)
    return "/".join(result) or "/"


def request_path(raw_path: str) -> str:
    """The raw request-target path → the path routing sees (``/api/x%2Fy/../z`` → ``/api/z``)."""
    path = _decode_keeping_slashes(raw_path)
    return _remove_dot_segments(path if path.startswith("/") else "/" + path)


_INDEXED: weakref.WeakKeyDictionary[Any, list[Any]] = weakref.WeakKeyDictionary()


def indexed_functions(app: Any) -> list[Any]:
    """``app.get_functions()``, once per app: the worker indexes an app once (a second call
    of the library's indexer reports every function name as a duplicate)."""
    if app not in _INDEXED:
        _INDEXED[app] = app.get_functions()
    return _INDEXED[app]


# --- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpRoute:
    name: str  # the function name
    template: str  # as registered, without the route prefix
    methods: frozenset[str]
    run: Callable[..., Any]
    prefix: str = "api"
    segments: tuple[Segment, ...] = field(default=(), compare=False)

    @classmethod
    def of(cls, name: str, template: str, methods: Iterable[str], run: Callable[..., Any], prefix: str) -> HttpRoute:
        full = "/".join(p for p in (prefix.strip("/"), template.strip("/")) if p)
        return cls(name, template, frozenset(m.upper() for m in methods), run, prefix, parse_template(full))

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method.upper() not in self.methods:
            return None
        body = path.removeprefix("/")
        body = body.removesuffix("/")  # one trailing slash is ignored, as ASP.NET routing ignores it
        return _match_segments(self.segments, body.split("/") if body else [])


class RouteTable:
    """The host's ordered route list; ``match`` is its first-match lookup."""

    def __init__(self, routes: Iterable[HttpRoute]) -> None:
        ordered = sorted(routes, key=lambda r: r.name.upper())
        mapped: list[HttpRoute] = []
        for route in ordered:
            if route.template.strip("/").lower().startswith("admin"):
                raise RouteError(f"the '{route.name}' function is in error: the route '{route.template}' conflicts with built-in routes")
            for other in mapped:
                if other.template.strip("/").lower() == route.template.strip("/").lower() and other.methods & route.methods:
                    raise RouteError(
                        f"the '{route.name}' function is in error: the route specified conflicts"
                        f" with the route defined by function '{other.name}'"
                    )
            mapped.append(route)
        self.routes: tuple[HttpRoute, ...] = tuple(mapped)

    def __iter__(self) -> Iterator[HttpRoute]:
        return iter(self.routes)

    @classmethod
    def from_app(cls, app: Any, *, route_prefix: str = "api") -> RouteTable:
        """Every HTTP trigger of a ``FunctionApp`` (its indexed functions), as the host maps them."""
        from azure.functions.decorators.http import HttpTrigger

        routes = []
        for function in indexed_functions(app):
            trigger = function.get_trigger()
            if not isinstance(trigger, HttpTrigger):
                continue
            name = str(function.get_function_name())
            methods = [str(getattr(m, "value", m)) for m in trigger.methods] if trigger.methods else ALL_METHODS
            routes.append(HttpRoute.of(name, trigger.route or name, methods, function.get_user_function(), route_prefix))
        return cls(routes)

    def match(self, method: str, raw_path: str) -> tuple[HttpRoute, dict[str, str]] | None:
        path = request_path(raw_path)
        for route in self.routes:
            values = route.match(method, path)
            if values is not None:
                return route, values
        return None

    def overlaps(self) -> list[tuple[str, str, frozenset[str]]]:
        """Pairs of functions one path could reach with a common method (order would decide)."""
        found = []
        for i, a in enumerate(self.routes):
            for b in self.routes[i + 1 :]:
                common = a.methods & b.methods
                if common and _may_overlap(a.segments, b.segments):
                    found.append((a.name, b.name, common))
        return found


def _may_overlap(a: tuple[Segment, ...], b: tuple[Segment, ...]) -> bool:
    """Whether some path matches both templates (constraints are taken as matching anything)."""
    for index in range(max(len(a), len(b))):
        x = a[index] if index < len(a) else None
        y = b[index] if index < len(b) else None
        if (x is not None and x.catch_all) or (y is not None and y.catch_all):
            return True
        if x is None or y is None:
            rest = (b if x is None else a)[index:]
            return all(s.optional or s.catch_all for s in rest)
        if x.literal is not None and y.literal is not None and x.literal.upper() != y.literal.upper():
            return False
    return True


def query_params(query: Mapping[str, list[str]]) -> dict[str, str]:
    """The query as the host passes it to the Python worker: repeated values joined with ``,``,
    empty values left out (``?state=`` arrives as no ``state`` at all)."""
    joined = {name: ",".join(values) for name, values in query.items()}
    return {name: value for name, value in joined.items() if value}
