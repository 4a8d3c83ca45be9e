"""A short, bounded load on loopback: concurrent reads and concurrent imports for two
partners. No 5xx, no cross-partner leak, no lost or duplicated user."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.e2e.conftest import Api


def test_concurrent_reads_and_imports_stay_correct(api: Api) -> None:
    partners = [api.register_partner() for _ in range(2)]
    for partner_id, _ in partners:
        api.request("POST", f"/partners/{partner_id}/evaluations", as_=api.operator())

    def read(i: int) -> int:
        partner_id, tenant = partners[i % 2]
        path = "/competencies" if i % 3 == 0 else f"/partners/{partner_id}/competencies"
        return api.request("GET", path, as_=api.member(tenant)).status_code

    def import_batch(args: tuple[int, int]) -> dict[str, Any]:
        which, batch = args
        partner_id, tenant = partners[which]
        users = [{"displayName": f"P{which} B{batch} U{i}", "email": f"p{which}b{batch}u{i}@x.com"} for i in range(20)]
        for _ in range(50):
            response = api.request(
                "POST",
                f"/partners/{partner_id}/users",
                as_=api.admin(tenant),
                json={"users": users},
                headers={"Idempotency-Key": f"load-{batch}"},
            )
            if response.status_code != 409:  # a retry racing its original is told to come back
                break
            time.sleep(float(response.headers["retry-after"]) / 10)
        assert response.status_code == 201, response.text
        return response.json()

    with ThreadPoolExecutor(max_workers=12) as pool:
        reads = pool.map(read, range(240))
        imports = list(pool.map(import_batch, [(w, b) for w in (0, 1) for b in range(4)] + [(0, 0), (1, 1)]))  # two retries
        statuses = list(reads)
    assert all(s == 200 for s in statuses), sorted(set(statuses))
    assert all(r["status"] == "created" for imp in imports for r in imp["results"])

    for which, (partner_id, tenant) in enumerate(partners):
        listed = api.request("GET", f"/partners/{partner_id}/users", as_=api.admin(tenant)).json()["users"]
        names = [u["displayName"] for u in listed]
        assert len(names) == 80 == len(set(names))  # none lost, none twice (retries included)
        assert all(n.startswith(f"P{which} ") for n in names)  # no other partner's user
        directory = api.host.graph.users(tenant)
        assert len(directory) == 80 == len({u["userPrincipalName"] for u in directory})
