"""Session fixtures: the real protocol servers (started once, stopped at the end)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("AUTH_AUDIENCE", "api://competency-suite")

from tests.servers import AzuriteServer, CosmosServer, azurite_server, cosmos_server


@pytest.fixture(scope="session")
def cosmos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CosmosServer]:
    with cosmos_server(tmp_path_factory.mktemp("cosmos")) as server:
        yield server


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteServer]:
    with azurite_server(tmp_path_factory.mktemp("azurite")) as server:
        yield server
