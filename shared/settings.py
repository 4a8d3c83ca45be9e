"""Every setting of the suite: named, typed, documented (README "Settings").

Values come from the environment (Azure app settings, or ``local.settings.json`` under
Core Tools). A bad value stops start-up with a message naming the setting.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, HttpUrl, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

CONSUMERS_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"


class SettingsError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False, frozen=True, env_ignore_empty=True)

    # Embedded default (SQLite) lives here.
    data_dir: Path = Field(default=Path(".devdata"), description="Folder of the embedded store and queue.")

    # Azure Cosmos DB: used when the endpoint is set.
    cosmos_endpoint: HttpUrl | None = Field(default=None, description="Cosmos DB account endpoint.")
    cosmos_key: str | None = Field(default=None, repr=False, description="Account key; without it azure-identity is used.")
    cosmos_database: str = Field(default="competency", min_length=1, max_length=255, description="Database (created if missing).")
    cosmos_container: str = Field(default="suite", min_length=1, max_length=255, description="Container, partition key /pk.")
    cosmos_connection_verify: bool = Field(default=True, description="Verify the endpoint's TLS certificate.")

    # Azure Storage queues: used when a connection is set (same setting as the Functions host).
    storage_connection: str | None = Field(
        default=None,
        repr=False,
        validation_alias=AliasChoices("AzureWebJobsStorage", "STORAGE_CONNECTION"),
        description="Storage connection string for queues.",
    )
    storage_queue_service_uri: HttpUrl | None = Field(
        default=None,
        validation_alias=AliasChoices("AzureWebJobsStorage__queueServiceUri", "STORAGE_QUEUE_SERVICE_URI"),
        description="Queue service URI for identity-based connections.",
    )

    # Fail fast (issue 21): one store or queue call, its retries included.
    dependency_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="Longest wait for one Cosmos DB or queue call (retries included) before a 503."
    )

    # Entra ID bearer tokens of the HTTP API.
    auth_audience: str = Field(default="api://competency-suite", min_length=1, description="The API's application ID URI (aud).")
    auth_issuer: str = Field(
        default="https://login.microsoftonline.com/{tid}/v2.0",
        description="Issuer template; {tid} is the token's tenant.",
    )
    auth_jwks_url: HttpUrl = Field(
        default=HttpUrl("https://login.microsoftonline.com/common/discovery/v2.0/keys"),
        description="Signing keys of the token issuer.",
    )
    program_tenant_id: str | None = Field(
        default=None,
        description="Tenant whose tokens may carry the Program.* roles; unset accepts any tenant (local only).",
    )

    # Nightly evaluation.
    evaluation_schedule: str = Field(default="0 0 2 * * *", description="NCRONTAB, UTC.")
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

    @field_validator("auth_issuer")
    @classmethod
    def _issuer_has_tenant(cls, value: str) -> str:
        if "{tid}" not in value:
            raise ValueError("must contain {tid}")
        return value

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
