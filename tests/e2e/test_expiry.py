"""Documents that must not outlive their purpose carry Cosmos DB's document time-to-live."""

from __future__ import annotations

import uuid

from shared import bootstrap
from tests.e2e.conftest import Api


def test_an_import_log_expires_by_itself_before_and_after_its_passwords_are_erased(api: Api) -> None:
    partner_id, tenant = api.register_partner()
    rows = "First name,Last name,Email address,Display name\nAda,Lovelace,ada@contoso.com,Ada Lovelace\n"
    created = api.request(
        "POST",
        f"/partners/{partner_id}/users",
        as_=api.admin(tenant),
        headers={"Content-Type": "text/csv", "Idempotency-Key": uuid.uuid4().hex},
        content=rows.encode(),
    )
    assert created.status_code == 201, created.text
    import_id = created.json()["importId"]
    store = bootstrap.container().store
    log_id = f"importlog:{import_id}"
    stored = store.read(f"partner:{partner_id}", log_id)
    ttl = bootstrap.container().settings.import_log_ttl_hours * 3600
    assert stored is not None and stored.body["ttl"] == ttl and stored.body["passwords"]
    assert api.request("GET", f"/partners/{partner_id}/imports/{import_id}/log", as_=api.admin(tenant)).status_code == 200
    erased = store.read(f"partner:{partner_id}", log_id)
    assert erased is not None and erased.body["passwords"] == {} and erased.body["ttl"] == ttl
