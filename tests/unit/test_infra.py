"""The infrastructure (infra/, Bicep) matches the code it runs, checked offline.

- checkov finds no failed check in infra/ (every skip carries its reason inline);
- the function app's settings and the settings model agree both ways: the Bicep sets nothing
  the model (or the Functions host) does not read, and what it sets is what the model needs to
  run in Azure: Cosmos DB and Storage queues through the managed identity, no key, no local
  stand-in;
- the queues, the Cosmos DB index and the app registrations are the ones the code uses.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import typing
from pathlib import Path
from typing import Any

import pytest
from azure.functions.decorators.queue import QueueTrigger

import function_app
import shared.settings as settings_module
from devhost.routing import indexed_functions
from shared import queues
from shared.auth import ROLE_ADMIN, ROLE_FEED, ROLE_OPERATOR
from shared.settings import Settings, SettingsError, load_settings, setting_names

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
MAIN = INFRA / "main.bicep"
FUNCTION = INFRA / "modules" / "function.bicep"
APPS = INFRA / "modules" / "apps.bicep"
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"

# Read by the Functions host or the Azure SDKs rather than by the suite's settings model:
# the host's identity-based storage connection (any AzureWebJobsStorage__ property), its
# Entra-authenticated telemetry, the Python worker's OpenTelemetry switch, and the
# user-assigned identity DefaultAzureCredential uses.
HOST_PREFIXES = ("azurewebjobsstorage__",)
HOST_SETTINGS = {
    "applicationinsights_connection_string",
    "applicationinsights_authentication_string",
    "python_enable_opentelemetry",
    "azure_client_id",
}

GUID = "6f1c2a4e-9d2b-4c53-8a71-2f0e5b7c9d13"
SAMPLES = {
    # What the Bicep's expressions evaluate to in Azure, by setting.
    "azurewebjobsstorage__accountname": "stsample",
    "azurewebjobsstorage__queueserviceuri": "https://stsample.queue.core.windows.net/",
    "applicationinsights_connection_string": f"InstrumentationKey={GUID};IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/",
    "cosmos_endpoint": "https://cosmos-sample.documents.azure.com:443/",
    "msa_redirect_uri": "https://func-sample.azurewebsites.net/api/msa/callback",
}


# --- checkov ----------------------------------------------------------------------------------


def test_checkov_finds_no_failed_check_and_every_skip_says_why() -> None:
    assert CHECKOV.exists(), "checkov is installed in .venv-checkov by `make test` (target .venv-checkov/.installed)"
    command = [str(CHECKOV), "--directory", "infra", "--framework", "bicep", "--skip-download", "--output", "json"]
    command += ["--skip-path", "infra/modules/apps.bicep"]  # see the next test
    result = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
        timeout=240,
    )
    report = json.loads(result.stdout)
    summary = report["summary"]
    failed = [f"{c['check_id']} {c['resource']} {c['file_path']}" for c in report["results"].get("failed_checks", [])]
    assert summary["failed"] == 0, failed
    assert summary["parsing_errors"] == 0, "checkov could not parse a Bicep file: it would check nothing in it"
    assert summary["passed"] >= 20 and summary["resource_count"] >= 40, summary
    skipped_checks = report["results"]["skipped_checks"]
    assert skipped_checks, "the skips in infra/ were not reported"
    for skipped in skipped_checks:
        reason = (skipped.get("check_result") or {}).get("suppress_comment", "")
        assert len(reason.strip()) > 20, f"{skipped['check_id']} on {skipped['resource']} is skipped without a reason"
    # No stale skip: each inline skip silences a check that applies (else it documents nothing).
    applied = {(s["check_id"], s["file_path"].lstrip("/")) for s in skipped_checks}
    written = {
        (check, str(path.relative_to(INFRA)))
        for path in INFRA.rglob("*.bicep")
        for check in re.findall(r"checkov:skip=(\w+)", path.read_text())
    }
    assert written == applied, f"skips that silence nothing: {written - applied}"
    # Properties no checkov Bicep check reads, but which the suite's security rests on.
    assert "allowSharedKeyAccess: false" in (INFRA / "modules" / "storage.bicep").read_text()
    assert "DisableLocalAuth: true" in (INFRA / "modules" / "monitoring.bicep").read_text()


def test_the_only_file_checkov_skips_holds_only_graph_resources() -> None:
    """checkov's Bicep parser does not know the `extension` statement, and has no check for
    Microsoft.Graph resources: apps.bicep is excluded for that reason alone."""
    text = APPS.read_text()
    assert text.startswith("extension microsoftGraphV1")
    types = re.findall(r"^resource \w+ '([^@']+)@", text, flags=re.M)
    assert types and all(t.startswith("Microsoft.Graph/") for t in types), types
    extensions = [p.relative_to(ROOT) for p in INFRA.rglob("*.bicep") if re.search(r"^extension ", p.read_text(), flags=re.M)]
    assert extensions == [APPS.relative_to(ROOT)]


# --- app settings against the settings model --------------------------------------------------


def bicep_object_vars(text: str) -> dict[str, dict[str, str]]:
    """`var name = { KEY: value ... }` blocks of flat objects: name -> {KEY: raw value}."""
    found: dict[str, dict[str, str]] = {}
    for match in re.finditer(r"^var (\w+) = \{\n(.*?)^\}", text, flags=re.M | re.S):
        pairs = re.findall(r"^  ([A-Za-z_][\w]*): (.+)$", match.group(2), flags=re.M)
        found[match.group(1)] = dict(pairs)
    return found


def app_setting_blocks() -> dict[str, dict[str, str]]:
    text = FUNCTION.read_text()
    blocks = {name: pairs for name, pairs in bicep_object_vars(text).items() if name.endswith("Settings")}
    union = re.search(r"^var appSettings = union\((.*)\)$", text, flags=re.M)
    assert union, "function.bicep builds appSettings from its *Settings blocks"
    assert set(re.findall(r"\b(\w+Settings)\b", union.group(1))) == set(blocks), "a *Settings block is not in appSettings"
    assert re.search(r"appSettings: \[for setting in items\(appSettings\)", text), "the site must use appSettings"
    return blocks


def model_names() -> dict[str, str]:
    """Every environment name the model reads (lower case, as it matches them) -> field."""
    return {name.lower(): field for field in Settings.model_fields for name in setting_names(field)}


def is_host_setting(name: str) -> bool:
    return name.lower() in HOST_SETTINGS or name.lower().startswith(HOST_PREFIXES)


def test_the_bicep_sets_no_setting_that_nothing_reads() -> None:
    known = model_names()
    for block, pairs in app_setting_blocks().items():
        unknown = [name for name in pairs if name.lower() not in known and not is_host_setting(name)]
        assert not unknown, f"{block} sets {unknown}: neither shared/settings.py nor the Functions host reads them"


def sample(name: str, raw: str) -> str:
    """The value an app setting has at run time in Azure."""
    literal = re.fullmatch(r"'([^'$]*)'", raw)
    if literal:
        return literal.group(1)  # a literal: the model must accept exactly this
    if raw.startswith("'@Microsoft.KeyVault("):
        return "value-resolved-from-key-vault"  # the platform resolves the reference
    if name.lower() in SAMPLES:
        return SAMPLES[name.lower()]
    field = model_names().get(name.lower())
    if field is not None:
        info = Settings.model_fields[field]
        if info.default is not None:
            return str(info.default)
        if "HttpUrl" in str(info.annotation):
            return f"https://{name.lower().replace('_', '-')}.example.net/"
        if typing.get_origin(info.annotation) is typing.Literal:
            return str(typing.get_args(info.annotation)[0])
    return GUID


@pytest.mark.parametrize("graph_credential", ["managed_identity", "client_secret"])
def test_what_the_bicep_sets_runs_the_suite_in_azure(graph_credential: str, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = app_setting_blocks()
    graph_block = {"managed_identity": "graphManagedIdentitySettings", "client_secret": "graphSecretSettings"}[graph_credential]
    chosen = {k: v for name, pairs in blocks.items() if not name.startswith("graph") or name == graph_block for k, v in pairs.items()}
    env = {name: sample(name, raw) for name, raw in chosen.items()}
    env["GRAPH_CREDENTIAL"] = graph_credential
    for name in list(os.environ):
        if name.lower() in model_names() or is_host_setting(name):
            monkeypatch.delenv(name)
    for name, value in {**env, "WEBSITE_SITE_NAME": "func-sample", "WEBSITE_INSTANCE_ID": "0" * 64}.items():
        monkeypatch.setenv(name, value)

    try:
        settings = load_settings()  # the model's own checks
        check = getattr(settings_module, "check_deployment", None)  # its start-up checks for Azure
        if check is not None:
            check(settings)
    except SettingsError as exc:
        pytest.fail(f"the app would not start with the Bicep's settings: {exc}")

    # Cosmos DB and Storage queues through Entra ID: no key, no connection string, no local store.
    assert settings.cosmos_endpoint is not None and settings.cosmos_key is None
    assert settings.storage_connection is None
    identity_storage = [f for f in Settings.model_fields if any(n.startswith("AzureWebJobsStorage__") for n in setting_names(f))]
    assert any(getattr(settings, f) for f in identity_storage), "no identity-based storage setting reaches the model"
    # Tokens: the program tenant is pinned; Graph and MSA are configured, nothing local.
    assert settings.program_tenant_id
    assert settings.graph_credential == graph_credential and settings.graph_client_id
    assert settings.graph_static_token is None and settings.msa_ca_bundle is None
    if graph_credential == "managed_identity":
        assert settings.graph_managed_identity_client_id
    else:
        assert settings.graph_client_secret
    assert settings.msa_client_id and settings.msa_client_secret and settings.msa_redirect_uri
    assert settings.msa_redirect_uri.endswith("/api/msa/callback")
    assert settings.alerts_queue_name or settings.alerts_webhook_url, "alerts would have nowhere to go"


# Hidden from repr by the model but not a secret here: with local auth off (monitoring.bicep),
# the instrumentation key in the connection string grants nothing; ingestion needs Entra ID.
NOT_SECRET_IN_AZURE = {"applicationinsights_connection_string"}


def test_no_secret_is_written_into_an_app_setting() -> None:
    assert "DisableLocalAuth: true" in (INFRA / "modules" / "monitoring.bicep").read_text()
    for pairs in app_setting_blocks().values():
        for name, raw in pairs.items():
            field = model_names().get(name.lower())
            if field is not None and Settings.model_fields[field].repr is False and name.lower() not in NOT_SECRET_IN_AZURE:
                assert raw.startswith("'@Microsoft.KeyVault("), f"{name} must be a Key Vault reference"


# --- queues, index, app registrations ---------------------------------------------------------


def bicep_array(text: str, name: str) -> list[str]:
    match = re.search(rf"^var {name} = \[\n(.*?)^\]", text, flags=re.M | re.S)
    assert match, name
    return re.findall(r"^  '([^']+)'$", match.group(1), flags=re.M)


def bicep_string(text: str, name: str) -> str:
    match = re.search(rf"^var {name} = '([^']+)'$", text, flags=re.M)
    assert match, name
    return match.group(1)


def test_the_bicep_creates_every_queue_the_app_binds_or_writes() -> None:
    main = MAIN.read_text()
    declared = {v for k, v in vars(queues).items() if k.isupper() and isinstance(v, str)}
    bound = {f.get_trigger().queue_name for f in indexed_functions(function_app.app) if isinstance(f.get_trigger(), QueueTrigger)}
    assert bound and bound <= declared, "a trigger binds a queue shared/queues.py does not name"
    for path in (ROOT / "functions").rglob("*.py"):  # by its name there, never a second spelling
        assert not re.search(r'queue_name="', path.read_text()), f"{path}: a queue name written out instead of shared.queues"
    assert set(bicep_array(main, "suiteQueues")) == declared
    # The poison companions come from the same list (storage.bicep), so do the alert queue's.
    assert "'${queueName}-poison'" in (INFRA / "modules" / "storage.bicep").read_text()
    workflow = json.loads((ROOT / "logicapp" / "workflow.json").read_text())["definition"]["parameters"]
    assert bicep_string(main, "alertsQueueName") == workflow["alertsQueueName"]["defaultValue"]
    assert bicep_string(main, "seenEventsTableName") == workflow["seenEventsTable"]["defaultValue"]


def queried_fields() -> set[str]:
    """Fields the services filter (where=) or sort (order_by=) on; the store adds pk and type."""
    fields = {"pk", "type"}
    for path in (ROOT / "shared").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            values: list[Any] = []
            if isinstance(node, ast.Call):
                values = [k.value for k in node.keywords if k.arg in ("where", "order_by")]
            elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "where" for t in node.targets):
                values = [node.value]
            for value in values:
                for inner in ast.walk(value):
                    if isinstance(inner, ast.Dict):
                        fields |= {k.value for k in inner.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
                    elif isinstance(inner, ast.Constant) and isinstance(inner.value, str) and value is inner:
                        fields.add(inner.value)
    return fields


def test_the_cosmos_index_covers_exactly_the_fields_the_suite_queries() -> None:
    indexed = set(bicep_array(MAIN.read_text(), "indexedFields"))
    needed = queried_fields()
    assert {"userId", "deliveryState", "raisedAt"} <= needed  # the scan finds the services' queries
    assert needed <= indexed, f"queries on unindexed fields: {needed - indexed}"
    assert indexed <= needed, f"indexed but never queried (write cost for nothing): {indexed - needed}"
    cosmos = (INFRA / "modules" / "cosmos.bicep").read_text()
    assert "'/pk'" in cosmos and "defaultTtl: -1" in cosmos and "disableLocalAuth: true" in cosmos


def test_the_app_registrations_carry_the_roles_and_redirect_the_suite_checks() -> None:
    apps = APPS.read_text()
    assert set(re.findall(r"value: '(\w+\.\w+)'", apps)) == {ROLE_ADMIN, ROLE_OPERATOR, ROLE_FEED}
    assert apps.count("requestedAccessTokenVersion: 2") == 2  # the API and the MSA app: v2 tokens
    main = MAIN.read_text()
    # The MSA callback is on the portal's origin, where its page finds the portal's token.
    assert re.search(r"var msaRedirectUri = 'https://\$\{portal\.outputs\.hostName\}/api/msa/callback'", main)
    route = (ROOT / "functions" / "associate_msa" / "__init__.py").read_text()
    assert '"msa/callback"' in route


def test_the_portal_is_a_static_web_app_with_the_function_app_as_backend_and_signs_in_with_its_scope() -> None:
    portal = (INFRA / "modules" / "portal.bicep").read_text()
    assert "Microsoft.Web/staticSites@" in portal and "name: 'Standard'" in portal and "'azd-service-name': 'portal'" in portal
    backend = (INFRA / "modules" / "portal-backend.bicep").read_text()
    assert "staticSites/linkedBackends@" in backend and "backendResourceId: functionAppId" in backend
    assert "functionAppId: function.outputs.id" in MAIN.read_text()
    apps = APPS.read_text()
    assert "value: 'access_as_user'" in apps and "'${portalOrigin}/'" in apps
    config = json.loads((ROOT / "portal" / "config.json").read_text())
    assert config["scopes"][0].endswith("/access_as_user")  # the scope the API app exposes
    azure = (ROOT / "azure.yaml").read_text()
    assert "host: staticwebapp" in azure and "portal-config" in azure


def test_the_failed_alert_rule_matches_the_lines_the_suite_logs() -> None:
    """The alert rule's query finds the log lines of an alert that failed or was given up."""
    monitoring = (INFRA / "modules" / "monitoring.bicep").read_text()
    query = re.search(r"query: 'traces \| where message startswith \"(.+?)\" and \((.+?)\)'", monitoring)
    assert query, "alerts-failed rule"
    phrases = re.findall(r'message has "(.+?)"', query.group(2))
    source = (ROOT / "shared" / "services" / "alerts.py").read_text()
    templates = [t for t in re.findall(r'log\.(?:error|warning)\(\s*"(alert [^"]*)"', source) if "given up" in t or "failed" in t]
    assert len(templates) >= 2, "the dispatcher logs failed and given-up alerts"
    for template in templates:
        line = template.replace("%d", "8").replace("%s", "x")
        assert line.startswith(query.group(1)) and any(p in line for p in phrases), template


def test_api_management_limits_each_tenant_by_its_tid() -> None:
    apim = (INFRA / "modules" / "apim.bicep").read_text()
    key = re.search(r"var tidKey = '(.+)'", apim)
    assert key and 'Claims.GetValueOrDefault("tid"' in key.group(1)
    assert 'rate-limit-by-key calls="${callsPerMinutePerTenant}" renewal-period="60" counter-key="${tidKey}"' in apim
    assert "<validate-jwt" in apim and "<audience>${apiAudience}</audience>" in apim


def test_the_pipeline_tests_every_push_and_deploys_main_without_a_stored_secret() -> None:
    pipeline = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    assert "run: make test" in pipeline
    assert "if: github.event_name == 'push' && github.ref == 'refs/heads/main'" in pipeline
    assert "id-token: write" in pipeline and "--federated-credential-provider github" in pipeline
    assert "secrets." not in pipeline
    assert "azd deploy" in pipeline
