"""Every setting of the suite: named, typed, documented (README "Settings").

Values come from the environment (Azure app settings, or ``local.settings.json`` under
Core Tools). A bad value stops start-up with a message naming the setting.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, HttpUrl, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.schedules import NIGHTLY_EVALUATION

CONSUMERS_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
AZURE_MARKERS = ("WEBSITE_INSTANCE_ID", "WEBSITE_SITE_NAME")  # set by App Service / Functions in Azure


class SettingsError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False, frozen=True, env_ignore_empty=True)

    # Embedded default (SQLite) lives here.
    data_dir: Path = Field(default=Path(".devdata"), description="Folder of the embedded store and queue.")

    # Azure Cosmos DB: used when the endpoint is set.
    cosmos_endpoint: HttpUrl | None = Field(default=None, description="Cosmos DB account endpoint.")
    cosmos_key: str | None = Field(default=None, repr=False, description="Account key; without it azure-identity is used.")
    cosmos_database: str = Field(
        default="competency",
        min_length=1,
        max_length=255,
        description="Database (created if missing with key auth; pre-created under Entra ID).",
    )
    cosmos_container: str = Field(
        default="suite",
        min_length=1,
        max_length=255,
        description="Container, partition key /pk, time-to-live on (created like the database).",
    )
    cosmos_connection_verify: bool = Field(default=True, description="Verify the endpoint's TLS certificate.")

    cosmos_managed_identity_client_id: str | None = Field(
        default=None,
        description="Client id of the user-assigned managed identity Cosmos DB is reached with (Entra RBAC); "
        "unset uses the default Azure credential.",
    )

    # Azure Storage queues: every form the Functions host reads for its own AzureWebJobsStorage
    # connection (the queue triggers watch the same account the suite writes to).
    storage_connection: str | None = Field(
        default=None,
        repr=False,
        validation_alias=AliasChoices("AzureWebJobsStorage", "STORAGE_CONNECTION"),
        description="Storage connection string for queues (local and tests; refused in Azure).",
    )
    storage_queue_service_uri: HttpUrl | None = Field(
        default=None,
        validation_alias=AliasChoices("AzureWebJobsStorage__queueServiceUri", "STORAGE_QUEUE_SERVICE_URI"),
        description="Queue service URI of an identity-based connection.",
    )
    storage_service_uri: HttpUrl | None = Field(
        default=None,
        validation_alias=AliasChoices("AzureWebJobsStorage__serviceUri"),
        description="Alias of `AzureWebJobsStorage__queueServiceUri`, as the host reads it.",
    )
    storage_account_name: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9]{3,24}$",
        validation_alias=AliasChoices("AzureWebJobsStorage__accountName"),
        description="Storage account of an identity-based connection (queue service https://{name}.queue.core.windows.net).",
    )
    storage_credential: str | None = Field(
        default=None,
        validation_alias=AliasChoices("AzureWebJobsStorage__credential"),
        description="`managedidentity` for an identity-based connection with a managed identity.",
    )
    storage_client_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("AzureWebJobsStorage__clientId"),
        description="Client id of the user-assigned managed identity of the storage connection.",
    )

    # Fail fast (issue 21): one store or queue call, its retries included.
    dependency_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="Longest wait for one Cosmos DB or queue call (retries included) before a 503."
    )

    # Entra ID bearer tokens of the HTTP API (v1 and v2 access tokens).
    auth_client_id: str | None = Field(
        default=None,
        description="The API app registration's client id: the `aud` of v2 access tokens.",
    )
    auth_audience: str = Field(
        default="api://competency-suite",
        min_length=1,
        description="The API's Application ID URI: the `aud` of v1 access tokens.",
    )
    auth_issuer: str = Field(
        default="https://login.microsoftonline.com/{tid}/v2.0",
        description="Issuer of v2 tokens (`ver` 2.0); {tid} is the token's tenant.",
    )
    auth_issuer_v1: str = Field(
        default="https://sts.windows.net/{tid}/",
        description="Issuer of v1 tokens (`ver` 1.0); {tid} is the token's tenant.",
    )
    auth_jwks_url: HttpUrl = Field(
        default=HttpUrl("https://login.microsoftonline.com/common/discovery/v2.0/keys"),
        description="Signing keys of the token issuer.",
    )
    auth_jwks_lifetime_seconds: int = Field(
        default=3600,
        ge=60,
        le=86400,
        description="How long fetched signing keys are trusted before the key set is fetched again.",
    )
    program_tenant_id: str | None = Field(
        default=None,
        description="Tenant whose tokens may carry the Program.* roles; unset accepts any tenant (local only).",
    )

    # Telemetry: OpenTelemetry to Application Insights through the Azure Monitor distro.
    applicationinsights_connection_string: str | None = Field(
        default=None,
        repr=False,
        validation_alias=AliasChoices("APPLICATIONINSIGHTS_CONNECTION_STRING"),
        description="Application Insights connection string; when set, traces, metrics and logs are exported there.",
    )

    # Nightly evaluation.
    evaluation_schedule: str = Field(default=NIGHTLY_EVALUATION, description="NCRONTAB, UTC.")
    alert_window_days: int = Field(default=60, ge=1, le=365, description="Warn this many days before a held level lapses.")

    # Catalog (a folder of JSON files); the shipped one by default.
    catalog_dir: Path | None = Field(default=None, description="Folder of catalog JSON files; the shipped catalog when unset.")

    # --- directory (Microsoft Graph) settings ---
    graph_base_url: HttpUrl = Field(default=HttpUrl("https://graph.microsoft.com/v1.0"), description="Microsoft Graph v1.0 base URL.")
    graph_credential: Literal["client_secret", "certificate", "managed_identity", "static"] = Field(
        default="managed_identity",
        description="How the suite gets Graph tokens in a partner's tenant: a multi-tenant app's client secret or "
        "certificate, or a managed identity as federated credential of that app; `static` only for the local host.",
    )
    graph_client_id: str | None = Field(default=None, description="The multi-tenant app registration's client id.")
    graph_client_secret: str | None = Field(default=None, repr=False, description="Its client secret (client_secret).")
    graph_certificate_path: Path | None = Field(default=None, description="PEM certificate with private key (certificate).")
    graph_managed_identity_client_id: str | None = Field(
        default=None, description="User-assigned managed identity used as federated credential (managed_identity)."
    )
    graph_static_token: str | None = Field(default=None, repr=False, description="Bearer token for the local host's Graph stand-in.")
    graph_max_concurrency: int = Field(default=4, ge=1, le=32, description="Graph $batch requests in flight per import.")
    graph_timeout_seconds: float = Field(default=30.0, gt=0, le=300, description="Timeout of one Graph request.")
    graph_max_retries: int = Field(default=6, ge=0, le=20, description="Retries of a failed (5xx, timeout) Graph sub-request.")
    graph_throttle_budget_seconds: float = Field(
        default=900.0,
        ge=0,
        le=3600,
        description="How long one Graph sub-request may wait out throttling (429, Retry-After) before it fails.",
    )

    # --- MSA sign-in settings ---
    msa_authority: str = Field(default="https://login.microsoftonline.com/consumers", description="MSAL authority for personal accounts.")
    msa_client_id: str | None = Field(default=None, description="App registration (personal accounts) client id.")
    msa_client_secret: str | None = Field(default=None, repr=False, description="Its client secret.")
    msa_redirect_uri: str | None = Field(default=None, description="Public URL of /api/msa/callback.")
    msa_tenant_id: str = Field(default=CONSUMERS_TENANT_ID, description="The only `tid` accepted in MSA id tokens.")
    msa_ca_bundle: str | None = Field(
        default=None, description="CA bundle MSAL trusts for the authority (local stand-in only; leave unset in Azure)."
    )
    msa_flow_ttl_seconds: int = Field(default=600, ge=60, le=3600, description="How long a started sign-in stays valid.")

    # --- add_users settings ---
    import_max_rows: int = Field(
        default=5000,
        ge=1,
        le=50000,
        description="Rows accepted in one add-users request (at most 50,000: the log document stays under 2 MB).",
    )
    import_max_body_bytes: int = Field(default=2_000_000, ge=1024, le=50_000_000, description="Largest add-users body.")
    import_inline_rows: int = Field(default=100, ge=1, le=5000, description="Imports with more rows continue in the background (queue).")
    import_log_ttl_hours: int = Field(default=24, ge=1, le=168, description="The log file's passwords are erased after this.")
    import_stall_seconds: int = Field(
        default=300, ge=5, le=86400, description="A running import without progress for this long is resumed (retry or sweep)."
    )

    # --- alerts settings ---
    alerts_webhook_url: HttpUrl | None = Field(
        default=None, repr=False, description="Logic App Request trigger URL (its SAS signature is a secret)."
    )
    alerts_queue_name: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$",
        description="Storage queue a Logic App reads alerts from (on the suite's queue connection).",
    )
    alerts_max_attempts: int = Field(default=8, ge=1, le=50, description="Delivery attempts before an alert is failed.")
    alerts_backoff_seconds: float = Field(default=10.0, gt=0, le=3600, description="First retry delay; doubles each attempt.")
    alerts_backoff_max_seconds: float = Field(default=3600.0, gt=0, le=86400, description="Longest retry delay.")
    alerts_timeout_seconds: float = Field(default=10.0, gt=0, le=120, description="Webhook request timeout.")
    alerts_max_age_seconds: float = Field(
        default=86400.0,
        gt=0,
        le=30 * 86400,
        description="A failed alert is retried every ALERTS_BACKOFF_MAX_SECONDS until this old, then reported and left failed.",
    )

    @field_validator("auth_issuer", "auth_issuer_v1")
    @classmethod
    def _issuer_has_tenant(cls, value: str) -> str:
        if "{tid}" not in value:
            raise ValueError("must contain {tid}")
        return value

    @field_validator("storage_credential")
    @classmethod
    def _managed_identity(cls, value: str | None) -> str | None:
        if value is not None and value.lower() != "managedidentity":
            raise ValueError("the only credential the host supports here is 'managedidentity'")
        return value

    @field_validator("auth_client_id", "cosmos_managed_identity_client_id", "storage_client_id", "program_tenant_id")
    @classmethod
    def _guid(cls, value: str | None) -> str | None:
        if value is not None and not GUID.fullmatch(value):
            raise ValueError("must be a GUID")
        return value

    # --- what the configuration picks ---------------------------------------------------------

    @property
    def queue_service_url(self) -> str | None:
        """The queue service of an identity-based AzureWebJobsStorage connection, if one is set."""
        uri = self.storage_queue_service_uri or self.storage_service_uri
        if uri:
            return str(uri)
        if self.storage_account_name:
            return f"https://{self.storage_account_name}.queue.core.windows.net"
        return None

    @property
    def has_storage_connection_string(self) -> bool:
        return bool(self.storage_connection and self.storage_connection.strip())

    def deployment_problems(self) -> list[str]:
        """What makes this configuration unfit to run in Azure, each naming its setting."""
        problems = []
        if not self.cosmos_endpoint:
            problems.append("COSMOS_ENDPOINT is not set: the embedded SQLite store is for local use only")
        if self.cosmos_key:
            problems.append("COSMOS_KEY is set: use the app's managed identity (Cosmos DB Built-in Data Contributor)")
        if not self.cosmos_connection_verify:
            problems.append("COSMOS_CONNECTION_VERIFY is off: TLS certificates must be verified")
        if self.has_storage_connection_string:
            problems.append(
                "AzureWebJobsStorage holds a connection string (a key): use AzureWebJobsStorage__accountName "
                "with __credential=managedidentity and __clientId"
            )
        elif not self.queue_service_url:
            problems.append(
                "AzureWebJobsStorage__accountName (or __queueServiceUri) is not set: the embedded SQLite queue is for local use only"
            )
        if not self.program_tenant_id:
            problems.append("PROGRAM_TENANT_ID is not set: any tenant could give itself Program.Operator or Program.Feed")
        if not self.auth_client_id:
            problems.append("AUTH_CLIENT_ID is not set: v2 access tokens carry the API's client id as their audience")
        if self.graph_credential == "static" or self.graph_static_token:
            problems.append("GRAPH_CREDENTIAL=static / GRAPH_STATIC_TOKEN serve the local stand-in only")
        if not self.graph_client_id:
            problems.append("GRAPH_CLIENT_ID is not set")
        if self.graph_credential == "client_secret" and not self.graph_client_secret:
            problems.append("GRAPH_CLIENT_SECRET is not set (GRAPH_CREDENTIAL=client_secret)")
        if self.graph_credential == "certificate" and not self.graph_certificate_path:
            problems.append("GRAPH_CERTIFICATE_PATH is not set (GRAPH_CREDENTIAL=certificate)")
        if self.msa_ca_bundle:
            problems.append("MSA_CA_BUNDLE is set: Azure trusts only the public certificate authorities")
        for name in ("msa_client_id", "msa_client_secret", "msa_redirect_uri"):
            if not getattr(self, name):
                problems.append(f"{name.upper()} is not set")
        return problems

    @field_validator("evaluation_schedule")
    @classmethod
    def _six_fields(cls, value: str) -> str:
        if len(value.split()) != 6:
            raise ValueError("an NCRONTAB expression has six fields: second minute hour day month weekday")
        return value


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        name = ".".join(str(p) for p in item["loc"]).upper() or "settings"
        parts.append(f"{name}: {item['msg']}")
    return "invalid setting(s): " + "; ".join(parts)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None


def running_in_azure(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return any(env.get(name) for name in AZURE_MARKERS)


def check_deployment(settings: Settings, environ: Mapping[str, str] | None = None) -> None:
    """In Azure, refuse to start on an unsafe or incomplete configuration, naming every setting."""
    if not running_in_azure(environ):
        return
    problems = settings.deployment_problems()
    if problems:
        raise SettingsError("refusing to start in Azure: " + "; ".join(problems))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


Mode = Literal["embedded", "azure"]


def setting_names(field_name: str) -> list[str]:
    """The environment names a field is read from (the first is the documented one)."""
    field = Settings.model_fields[field_name]
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    return [field_name.upper()]


def describe_settings() -> list[tuple[str, str, str, str]]:
    """(name, type, default, description) of every setting, for the README and the example."""
    rows = []
    for name, field in Settings.model_fields.items():
        annotation = str(field.annotation).replace("typing.", "").replace("pydantic.networks.HttpUrl", "URL")
        annotation = annotation.replace("<class '", "").replace("'>", "").replace("pathlib.", "")
        if annotation.endswith(" | None"):
            annotation = "optional " + annotation.removesuffix(" | None")
        default = "" if field.default is None else str(field.default)
        rows.append((setting_names(name)[0], annotation, default, field.description or ""))
    return rows


if __name__ == "__main__":
    import json
    import sys

    if "--example" in sys.argv:
        values = {row[0]: row[2] for row in describe_settings()}
        values["AzureWebJobsStorage"] = "UseDevelopmentStorage=true"
        values["FUNCTIONS_WORKER_RUNTIME"] = "python"
        values["AzureWebJobsFeatureFlags"] = "EnableWorkerIndexing"
        print(json.dumps({"IsEncrypted": False, "Values": values}, indent=2))
    else:
        print("| setting | type | default | what it is |\n| --- | --- | --- | --- |")
        for name, kind, default, description in describe_settings():
            print(f"| `{name}` | {kind} | {'`' + default + '`' if default else ''} | {description} |")
