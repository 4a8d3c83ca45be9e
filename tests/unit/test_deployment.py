"""Which adapters each configuration picks, how Azure start-up fails closed, and how the
Cosmos DB store behaves under Entra ID RBAC (a fake client answers as Cosmos DB would)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest
from azure.cosmos import exceptions
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

from shared.adapters.cosmos_store import CosmosDocumentStore
from shared.adapters.sqlite_queue import SqliteMessageQueue
from shared.adapters.sqlite_store import SqliteDocumentStore
from shared.adapters.storage_queue import StorageMessageQueue
from shared.bootstrap import Container
from shared.ports import StoreConfigurationError
from shared.settings import Settings, SettingsError, check_deployment

if TYPE_CHECKING:
    from shared.adapters.cosmos_store import CosmosAccount

ROOT = Path(__file__).resolve().parents[2]
UAMI = "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b"
TENANT = "0f1e2d3c-4b5a-4697-8877-665544332211"
API = "7e6d5c4b-3a29-4817-8665-544332211000"


def settings(tmp_path: Path, **values: str) -> Settings:
    """Settings from exactly these environment values (nothing inherited)."""
    env = {"DATA_DIR": str(tmp_path), **values}
    with pytest.MonkeyPatch.context() as mp:
        for name in list(__import__("os").environ):
            if name.upper().startswith(("AZUREWEBJOBS", "COSMOS_", "STORAGE_", "GRAPH_", "MSA_", "AUTH_", "PROGRAM_", "ALERTS_")):
                mp.delenv(name)
        for name, value in env.items():
            mp.setenv(name, value)
        return Settings()


def queue_of(tmp_path: Path, **values: str) -> Any:
    c = Container(settings(tmp_path, **values))
    queue: Any = c.queue
    return queue._target  # the adapter behind its tracing wrapper


def account_url(queue: StorageMessageQueue) -> str:
    return str(queue._service.url).rstrip("/")


def credential(queue: StorageMessageQueue) -> Any:
    return queue._service.credential


# --- AzureWebJobsStorage: every form the Functions host reads ---------------------------------


def test_no_storage_setting_picks_the_embedded_queue(tmp_path) -> None:
    assert isinstance(queue_of(tmp_path), SqliteMessageQueue)


def test_a_connection_string_picks_storage_queues(tmp_path) -> None:
    queue = queue_of(tmp_path, AzureWebJobsStorage="UseDevelopmentStorage=true")
    assert isinstance(queue, StorageMessageQueue)
    assert account_url(queue) == "http://127.0.0.1:10001/devstoreaccount1"


def test_account_name_with_a_user_assigned_identity(tmp_path) -> None:
    queue = queue_of(
        tmp_path,
        AzureWebJobsStorage__accountName="contosostore",
        AzureWebJobsStorage__credential="managedidentity",
        AzureWebJobsStorage__clientId=UAMI,
    )
    assert isinstance(queue, StorageMessageQueue)
    assert account_url(queue) == "https://contosostore.queue.core.windows.net"
    assert isinstance(credential(queue), ManagedIdentityCredential)


def test_a_client_id_always_means_that_managed_identity(tmp_path, monkeypatch) -> None:
    made: list[dict] = []

    class Recorder:
        def __init__(self, **kwargs: Any) -> None:
            made.append(kwargs)

        def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            raise AssertionError("no token is needed to build the client")

    monkeypatch.setattr("azure.identity.ManagedIdentityCredential", Recorder)
    queue_of(tmp_path, AzureWebJobsStorage__accountName="contosostore", AzureWebJobsStorage__clientId=UAMI)
    queue_of(tmp_path, AzureWebJobsStorage__accountName="contosostore", AzureWebJobsStorage__credential="managedidentity")
    assert made == [{"client_id": UAMI}, {}]  # user-assigned, then system-assigned


@pytest.mark.parametrize("name", ["AzureWebJobsStorage__queueServiceUri", "AzureWebJobsStorage__serviceUri"])
def test_a_service_uri_with_the_default_credential(tmp_path, name) -> None:
    queue = queue_of(tmp_path, **{name: "https://contosostore.queue.core.windows.net"})
    assert isinstance(queue, StorageMessageQueue)
    assert account_url(queue) == "https://contosostore.queue.core.windows.net"
    assert isinstance(credential(queue), DefaultAzureCredential)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AzureWebJobsStorage__credential", "connectionstring"),
        ("AzureWebJobsStorage__clientId", "not-a-guid"),
        ("AzureWebJobsStorage__accountName", "Contoso_Store"),
    ],
)
def test_a_malformed_identity_setting_names_itself(tmp_path, name, value) -> None:
    with pytest.raises(Exception, match=name):
        settings(tmp_path, **{name: value})


# --- Cosmos DB ------------------------------------------------------------------------------


class FakeContainer:
    def __init__(self, properties: dict | None = None, error: int | None = None) -> None:
        self.properties = properties if properties is not None else {"id": "suite", "partitionKey": {"paths": ["/pk"]}, "defaultTtl": -1}
        self.error = error

    def read(self) -> dict:
        if self.error:
            raise exceptions.CosmosHttpResponseError(status_code=self.error, message="refused")
        return self.properties


class FakeDatabase:
    def __init__(self, container: FakeContainer, create_error: int | None) -> None:
        self.container = container
        self.create_error = create_error

    def get_container_client(self, name: str) -> FakeContainer:
        return self.container

    def create_container_if_not_exists(self, name: str, **kwargs: Any) -> FakeContainer:
        if self.create_error:
            raise exceptions.CosmosHttpResponseError(status_code=self.create_error, message="forbidden")
        return self.container


class FakeCosmos:
    """Answers as Cosmos DB does; records whether anything tried to create a resource."""

    def __init__(self, container: FakeContainer | None = None, create_error: int | None = None) -> None:
        self.database = FakeDatabase(container or FakeContainer(), create_error)
        self.create_error = create_error
        self.creates = 0

    def get_database_client(self, name: str) -> FakeDatabase:
        return self.database

    def create_database_if_not_exists(self, name: str) -> FakeDatabase:
        self.creates += 1
        if self.create_error:
            raise exceptions.CosmosHttpResponseError(status_code=self.create_error, message="forbidden")
        return self.database


def store(client: FakeCosmos, *, key: str | None = None) -> CosmosDocumentStore:
    # The fake answers what start-up asks (the container's properties), not the item calls.
    account = cast("CosmosAccount", client)
    return CosmosDocumentStore("https://x.documents.azure.com:443/", database="competency", container="suite", key=key, client=account)


def test_under_entra_auth_nothing_is_created_and_the_container_is_checked() -> None:
    client = FakeCosmos()
    store(client)
    assert client.creates == 0


def test_with_a_key_the_database_and_container_are_created_if_missing() -> None:
    client = FakeCosmos()
    store(client, key="a-key")
    assert client.creates == 1


def test_a_403_at_start_up_names_the_database_and_container_to_pre_create() -> None:
    with pytest.raises(StoreConfigurationError, match="pre-create the database 'competency' with container 'suite'"):
        store(FakeCosmos(FakeContainer(error=403)))
    with pytest.raises(StoreConfigurationError, match="database 'competency' with container 'suite'"):
        store(FakeCosmos(create_error=403), key="a-key")


def test_a_missing_container_under_entra_auth_says_to_pre_create_it() -> None:
    with pytest.raises(StoreConfigurationError, match=r"no database 'competency' with container 'suite' .*pre-create"):
        store(FakeCosmos(FakeContainer(error=404)))


@pytest.mark.parametrize("paths", [["/partitionKey"], ["/pk", "/id"], []])
def test_a_container_not_partitioned_by_pk_is_refused(paths) -> None:
    container = FakeContainer({"id": "suite", "partitionKey": {"paths": paths}})
    with pytest.raises(StoreConfigurationError, match="needs partition key /pk"):
        store(FakeCosmos(container))


def test_cosmos_with_a_user_assigned_identity(tmp_path, monkeypatch) -> None:
    seen: dict[str, Any] = {}

    def fake_store(endpoint: str, **kwargs: Any) -> str:
        seen.update(kwargs)
        return "cosmos"

    monkeypatch.setattr("shared.adapters.cosmos_store.CosmosDocumentStore", fake_store)

    def adapter(c: Container) -> Any:
        store: Any = c.store
        return store._target  # the adapter behind its tracing wrapper

    c = Container(settings(tmp_path, COSMOS_ENDPOINT="https://x.documents.azure.com:443/", COSMOS_MANAGED_IDENTITY_CLIENT_ID=UAMI))
    assert adapter(c) == "cosmos"
    assert seen["key"] is None and isinstance(seen["credential"], ManagedIdentityCredential)
    c2 = Container(settings(tmp_path, COSMOS_ENDPOINT="https://x.documents.azure.com:443/"))
    assert adapter(c2) == "cosmos" and isinstance(seen["credential"], DefaultAzureCredential)
    assert isinstance(adapter(Container(settings(tmp_path))), SqliteDocumentStore)


# --- fail closed in Azure -----------------------------------------------------------------------

SAFE = {
    "COSMOS_ENDPOINT": "https://x.documents.azure.com:443/",
    "COSMOS_MANAGED_IDENTITY_CLIENT_ID": UAMI,
    "AzureWebJobsStorage__accountName": "contosostore",
    "AzureWebJobsStorage__credential": "managedidentity",
    "AzureWebJobsStorage__clientId": UAMI,
    "PROGRAM_TENANT_ID": TENANT,
    "AUTH_CLIENT_ID": API,
    "GRAPH_CREDENTIAL": "managed_identity",
    "GRAPH_CLIENT_ID": API,
    "MSA_CLIENT_ID": API,
    "MSA_CLIENT_SECRET": "kept-in-key-vault",
    "MSA_REDIRECT_URI": "https://contoso-suite.azurewebsites.net/api/msa/callback",
}
IN_AZURE = {"WEBSITE_INSTANCE_ID": "abc123"}


def test_a_complete_identity_based_configuration_starts_in_azure(tmp_path) -> None:
    check_deployment(settings(tmp_path, **SAFE), IN_AZURE)
    check_deployment(settings(tmp_path, **SAFE), {"WEBSITE_SITE_NAME": "contoso-suite"})


def test_locally_nothing_is_refused(tmp_path) -> None:
    check_deployment(settings(tmp_path), {})


def test_in_azure_one_message_names_every_missing_or_unsafe_setting(tmp_path) -> None:
    unsafe = settings(
        tmp_path,
        AzureWebJobsStorage="DefaultEndpointsProtocol=https;AccountName=a;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net",
        GRAPH_CREDENTIAL="static",
        GRAPH_STATIC_TOKEN="dev",
        MSA_CA_BUNDLE="/tmp/ca.pem",
        COSMOS_KEY="a-key",
    )
    with pytest.raises(SettingsError) as error:
        check_deployment(unsafe, IN_AZURE)
    message = str(error.value)
    for name in (
        "COSMOS_ENDPOINT",
        "COSMOS_KEY",
        "AzureWebJobsStorage holds a connection string",
        "PROGRAM_TENANT_ID",
        "AUTH_CLIENT_ID",
        "GRAPH_CREDENTIAL=static",
        "GRAPH_CLIENT_ID",
        "MSA_CA_BUNDLE",
        "MSA_CLIENT_ID",
        "MSA_CLIENT_SECRET",
        "MSA_REDIRECT_URI",
    ):
        assert name in message
    assert "c2VjcmV0" not in message and "a-key" not in message  # names, never values
    with pytest.raises(SettingsError) as embedded:
        check_deployment(settings(tmp_path), IN_AZURE)
    assert "embedded SQLite store" in str(embedded.value) and "embedded SQLite queue" in str(embedded.value)


def test_the_function_app_refuses_to_start_in_azure_on_the_embedded_store(tmp_path) -> None:
    env = {"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path), "WEBSITE_SITE_NAME": "contoso-suite"}
    result = subprocess.run([sys.executable, "-c", "import function_app"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "refusing to start in Azure" in result.stderr and "PROGRAM_TENANT_ID" in result.stderr
    local = subprocess.run(
        [sys.executable, "-c", "import function_app"], cwd=ROOT, env={**env, "WEBSITE_SITE_NAME": ""}, capture_output=True, text=True
    )
    assert local.returncode == 0, local.stderr
