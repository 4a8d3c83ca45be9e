"""A full flow with every log line captured and every stored document dumped: no temporary
password (after the log's download), token, client secret or key anywhere in either."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import time
import uuid

import pytest

from shared import bootstrap
from tests.e2e.conftest import Api, link_msa
from tests.receiver import Receiver


def test_no_secret_reaches_logs_or_stored_documents(api: Api, alert_receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    partner_id, tenant = api.register_partner()
    admin = api.admin(tenant)
    added = api.request(
        "POST",
        f"/partners/{partner_id}/users",
        as_=admin,
        json={"users": [{"displayName": "Sec Ret", "email": "secret@x.com"}, {"displayName": "Two", "email": "two@x.com"}]},
    )
    import_id = added.json()["importId"]
    user = added.json()["results"][0]["userId"]
    log_file = api.request("GET", f"/partners/{partner_id}/imports/{import_id}/log", as_=admin).text
    passwords = [row["temporaryPassword"] for row in csv.DictReader(io.StringIO(log_file)) if row["temporaryPassword"]]
    assert len(passwords) == 2
    msa = link_msa(api, tenant, user, f"s-{uuid.uuid4().hex[:6]}@outlook.example").json()["msaId"]
    api.request(
        "POST",
        "/achievements",
        as_=api.feed(),
        json={"achievements": [{"msaId": msa, "kind": "exam", "code": "70-533", "earnedOn": "2026-01-01"}]},
    )
    figures = {"asOf": "2026-10-31", "metrics": [{"metric": "revenueUsd", "competencyId": "cloud-platform", "value": 20000}]}
    api.request("PUT", f"/partners/{partner_id}/performance", as_=api.feed(), json=figures)
    api.request("POST", f"/partners/{partner_id}/evaluations", as_=api.operator())  # silver attained: an alert
    api.request("DELETE", f"/partners/{partner_id}/users/{user}", as_=admin)
    api.request("POST", f"/partners/{partner_id}/evaluations", as_=api.operator())
    api.request("GET", "/partners/does-not-exist", as_={"Authorization": "Bearer " + api.token(tenant) + "x"})

    tokens = [admin["Authorization"].split()[1], api.feed()["Authorization"].split()[1], api.operator()["Authorization"].split()[1]]
    secrets = {
        **{f"password {i}": p for i, p in enumerate(passwords)},
        "msa client secret": api.host.msa.client_secret,
        **{f"token {i}": t for i, t in enumerate(tokens)},
        "token signature": tokens[0].split(".")[2],
        "Logic App trigger signature": alert_receiver.signature,
    }
    deadline = time.monotonic() + 10
    while not any(e["subject"] == partner_id for e in alert_receiver.events) and time.monotonic() < deadline:
        time.sleep(0.1)  # let the dispatcher deliver (and log) this partner's alerts
    assert any(e["subject"] == partner_id for e in alert_receiver.events)
    logs = caplog.text + "\n".join(json.dumps(r.__dict__, default=str) for r in caplog.records)
    documents = json.dumps(bootstrap.container().store.dump())  # type: ignore[attr-defined]
    for name, value in secrets.items():
        assert value not in logs, f"{name} found in the logs"
        assert value not in documents, f"{name} found in a stored document"
    # No JWT of any kind is stored (MSAL's id or access tokens either): a JSON header and a JSON
    # payload, each base64url-encoded. A bare "eyJ" can occur by chance in a random verifier.
    assert not re.search(r"eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.", documents)
