"""Routing as the Functions host does it, from the FunctionApp's own registrations.

The host keeps one route table in function-name order and the first template that matches,
with its method, wins. These tests build that table from ``function_app.app`` and prove
that every operation in openapi.json reaches the function that declares it, whatever its
path parameters hold, and that the catch-all the suite once had would have broken that.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import azure.functions as func
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import function_app
from devhost.host import FunctionHost, HostConfig, StartupError
from devhost.routing import RouteError, RouteTable, query_params, request_path
from devhost.standin import Request
from shared.ports import MessageQueue

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = json.loads((ROOT / "openapi.json").read_text())
OPERATIONS = [(path, method.upper(), op["operationId"]) for path, ops in DOCUMENT["paths"].items() for method, op in ops.items()]
PREFIX = HostConfig.from_host_json(ROOT / "host.json").route_prefix
LITERALS = sorted({part for path, _, _ in OPERATIONS for part in path.split("/") if part and not part.startswith("{")})

# A path parameter's value: ordinary ids, another route's literal segment ("users", "log",
# "health"...), and anything else one URL segment can carry, percent-encoded on the wire.
segment_values = st.one_of(
    st.sampled_from(LITERALS),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=12).filter(lambda s: s not in (".", "..")),
)


def _table(app: func.FunctionApp) -> RouteTable:
    return RouteTable.from_app(app, route_prefix=PREFIX)


def _concrete(path: str, values: Callable[[str], str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: quote(values(m.group(1)), safe=""), path)


def misrouted(table: RouteTable, values: Callable[[str], str]) -> dict[str, str | None]:
    """Each operation of openapi.json that reaches another function than its own → that function."""
    wrong: dict[str, str | None] = {}
    for path, method, operation_id in OPERATIONS:
        found = table.match(method, _concrete(path, values))
        name = found[0].name if found else None
        if name != operation_id:
            wrong[operation_id] = name
    return wrong


def app_of(*blueprints: func.Blueprint) -> func.FunctionApp:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    for blueprint in blueprints:
        app.register_functions(blueprint)
    return app


def old_catch_all() -> func.Blueprint:
    """The suite's former ``fallback`` function: ``{*path}`` for every method."""
    bp = func.Blueprint()

    @bp.function_name("fallback")
    @bp.route(route="{*path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
    def fallback(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse(status_code=404)

    return bp


# --- the suite's own routes ----------------------------------------------------------------


def test_the_table_is_the_apps_own_and_openapi_lists_all_of_it() -> None:
    table = _table(function_app.app)
    assert PREFIX == "api"
    assert {(f"/{PREFIX}/{r.template}", m) for r in table for m in r.methods} == {(p, m) for p, m, _ in OPERATIONS}
    assert [r.name for r in table] == sorted((r.name for r in table), key=str.upper)  # the host's order


@settings(max_examples=60, deadline=None)
@given(values=st.dictionaries(st.sampled_from(["partnerId", "importId", "userId", "overrideId", "alertId"]), segment_values))
def test_every_operation_reaches_the_function_that_declares_it(values: dict[str, str]) -> None:
    table = _table(function_app.app)
    assert misrouted(table, lambda name: values.get(name, "x1")) == {}


def test_no_two_functions_routes_overlap_for_a_method() -> None:
    assert _table(function_app.app).overlaps() == []


def test_the_old_catch_all_would_have_answered_most_operations() -> None:
    table = _table(app_of(*function_app.BLUEPRINTS, old_catch_all()))
    wrong = misrouted(table, lambda name: "x1")
    # Functions named before "fallback" keep their routes; every other one is shadowed.
    assert set(wrong) == {op for _, _, op in OPERATIONS if op.upper() > "FALLBACK"}
    assert len(wrong) == 27 and set(wrong.values()) == {"fallback"}
    assert "health" in wrong and "openapi" in wrong
    assert table.overlaps() != []


# --- the host's rules, on small apps ---------------------------------------------------------


def _bp(*routes: tuple[str, str, list[str]]) -> func.Blueprint:
    bp = func.Blueprint()
    for name, route, methods in routes:

        def run(req: func.HttpRequest, _name: str = name) -> func.HttpResponse:
            return func.HttpResponse(json.dumps({"name": _name, "params": dict(req.params), "route": dict(req.route_params)}))

        run.__name__ = name
        bp.function_name(name)(bp.route(route=route, methods=methods, auth_level=func.AuthLevel.ANONYMOUS)(run))
    return bp


def _name(table: RouteTable, method: str, path: str) -> str | None:
    found = table.match(method, path)
    return found[0].name if found else None


def test_first_match_in_case_insensitive_function_name_order_wins() -> None:
    # azure-functions-host 9876: "Details" (products/{id}) sorts before "List" (products/list).
    table = _table(app_of(_bp(("List", "products/list", ["GET"]), ("Details", "products/{id}", ["GET"]))))
    assert _name(table, "GET", "/api/products/list") == "Details"
    # Case-insensitive: "alpha" comes before "Beta" although "B" < "a" in ordinal order.
    table = _table(app_of(_bp(("Beta", "items/{id}", ["GET"]), ("alpha", "items/{*rest}", ["GET"]))))
    assert _name(table, "GET", "/api/items/1") == "alpha"


def test_paths_match_case_insensitively_and_methods_do_not_fall_back() -> None:
    table = _table(app_of(_bp(("get_thing", "things/{id}", ["GET"]))))
    assert _name(table, "GET", "/API/Things/A1/") == "get_thing"
    assert table.match("GET", "/api/Things/A1")[1] == {"id": "A1"}  # type: ignore[index]  # values keep their case
    assert _name(table, "DELETE", "/api/things/a1") is None  # the host has no 405: nothing matches
    assert _name(table, "GET", "/api/things") is None
    assert _name(table, "GET", "/api/things//") is None
    assert _name(table, "GET", "/other/things/a1") is None


def test_the_request_path_is_decoded_as_kestrel_decodes_it() -> None:
    table = _table(app_of(_bp(("get_thing", "things/{id}", ["GET"]))))
    assert request_path("/api/things/a%2Fb") == "/api/things/a%2Fb"
    assert table.match("GET", "/api/things/a%2Fb")[1] == {"id": "a%2Fb"}  # type: ignore[index]
    assert table.match("GET", "/api/things/caf%C3%A9")[1] == {"id": "café"}  # type: ignore[index]
    assert _name(table, "GET", "/api/other/../things/x") == "get_thing"


def test_the_route_prefix_comes_from_host_json(tmp_path: Path) -> None:
    bp = _bp(("health", "health", ["GET"]))
    for prefix, path in (("v1", "/v1/health"), ("", "/health")):
        (tmp_path / "host.json").write_text(json.dumps({"version": "2.0", "extensions": {"http": {"routePrefix": prefix}}}))
        table = RouteTable.from_app(app_of(bp), route_prefix=HostConfig.from_host_json(tmp_path / "host.json").route_prefix)
        assert _name(table, "GET", path) == "health"
        assert _name(table, "GET", "/api/health") is None
    (tmp_path / "host.json").write_text(json.dumps({"version": "2.0"}))
    assert HostConfig.from_host_json(tmp_path / "host.json").route_prefix == "api"  # the host's default


def test_route_constraints_and_optional_parameters() -> None:
    table = _table(
        app_of(
            _bp(
                ("by_number", "orders/{id:int:min(1)}", ["GET"]),
                ("by_guid", "carts/{id:guid}", ["GET"]),
                ("pages", "pages/{slug:minlength(3)}/{part?}", ["GET"]),
            )
        )
    )
    assert _name(table, "GET", "/api/orders/42") == "by_number"
    assert _name(table, "GET", "/api/orders/0") is None
    assert _name(table, "GET", "/api/orders/abc") is None
    assert _name(table, "GET", "/api/carts/3f2504e0-4f89-11d3-9a0c-0305e82c3301") == "by_guid"
    assert _name(table, "GET", "/api/carts/nope") is None
    assert table.match("GET", "/api/pages/intro")[1] == {"slug": "intro"}  # type: ignore[index]
    assert table.match("GET", "/api/pages/intro/2")[1] == {"slug": "intro", "part": "2"}  # type: ignore[index]
    assert _name(table, "GET", "/api/pages/ab") is None
    with pytest.raises(RouteError, match="could not be resolved"):
        _table(app_of(_bp(("bad", "x/{id:nosuch}", ["GET"]))))


def test_what_the_host_refuses_is_refused() -> None:
    with pytest.raises(RouteError, match=r"'b_dup' function is in error.*defined by function 'a_dup'"):
        _table(app_of(_bp(("a_dup", "Things/{id}", ["GET", "PUT"]), ("b_dup", "/things/{id}/", ["PUT"]))))
    assert len(_table(app_of(_bp(("a_get", "things/{id}", ["GET"]), ("b_put", "things/{id}", ["PUT"])))).routes) == 2
    with pytest.raises(RouteError, match="built-in routes"):
        _table(app_of(_bp(("sneaky", "admin/functions/x", ["POST"]))))


def test_the_query_reaches_the_function_as_the_host_passes_it() -> None:
    assert query_params({"state": [""], "code": ["abc"], "a": ["1", "2"]}) == {"code": "abc", "a": "1,2"}
    host = FunctionHost(app_of(_bp(("echo", "echo", ["GET"]))), queue=_no_queue, config=HostConfig())
    request = Request(
        method="GET",
        path="/api/echo",
        query={"state": [""], "code": ["abc"]},
        headers={"host": "localhost"},
        body=b"",
        base_url="http://localhost",
        full_path="/api/echo",
        raw_query="state=&code=abc",
        client="127.0.0.1",
    )
    response = host.handle(request)
    assert response.status == 200 and json.loads(response.body)["params"] == {"code": "abc"}
    unknown = host.handle(Request("GET", "/api/nope", {}, {}, b"", "http://localhost", full_path="/api/nope", client="127.0.0.1"))
    assert (unknown.status, unknown.body) == (404, b"")


def test_the_admin_api_runs_timers_for_this_machine_only() -> None:
    host = FunctionHost(app_of(_bp(("echo", "echo", ["GET"]))), queue=_no_queue, config=HostConfig())

    def admin(client: str) -> int:
        path = "/admin/functions/no_such_timer"
        return host.handle(Request("POST", path, {}, {"host": "localhost"}, b"", "http://localhost", full_path=path, client=client)).status

    assert admin("192.0.2.7") == 403  # in Azure the admin API needs the master key
    assert admin("127.0.0.1") == 404


def test_the_hosts_http_throttles_apply() -> None:
    # maxConcurrentRequests functions run at once; beyond maxOutstandingRequests the host answers 429.
    release = threading.Event()
    bp = func.Blueprint()

    @bp.function_name("slow")
    @bp.route(route="slow", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
    def slow(req: func.HttpRequest) -> func.HttpResponse:
        release.wait(5)
        return func.HttpResponse("done")

    host = FunctionHost(app_of(bp), queue=_no_queue, config=HostConfig(max_concurrent_requests=1, max_outstanding_requests=2))

    def call() -> int:
        return host.handle(Request("GET", "/api/slow", {}, {}, b"", "http://localhost", full_path="/api/slow", client="127.0.0.1")).status

    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = pool.submit(call), pool.submit(call)  # one runs, one waits its turn
        deadline = time.monotonic() + 5
        while host.outstanding < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert call() == 429
        release.set()
        assert (first.result(), second.result()) == (200, 200)
    assert call() == 200


def _no_queue() -> MessageQueue:
    raise AssertionError("no queue in these tests")


@pytest.fixture
def no_schedule(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("EVALUATION_SCHEDULE", raising=False)
    yield


@pytest.mark.usefixtures("no_schedule")
def test_an_unresolved_setting_in_a_trigger_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    # The suite's settings default EVALUATION_SCHEDULE, but the host resolves %EVALUATION_SCHEDULE%
    # from app settings only: unset, the nightly timer cannot be indexed.
    with pytest.raises(StartupError, match=r"'nightly_evaluation' function is in error: '%EVALUATION_SCHEDULE%'.*EVALUATION_SCHEDULE"):
        FunctionHost(function_app.app, queue=_no_queue, config=HostConfig())
    monkeypatch.setenv("EVALUATION_SCHEDULE", "0 30 1 * * *")
    host = FunctionHost(function_app.app, queue=_no_queue, config=HostConfig())
    assert "nightly_evaluation" in host.timers
