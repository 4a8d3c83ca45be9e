"""Program feeds: the newest record of an achievement wins (by earnedOn, then expiresOn)
whatever order the deliveries arrive in, and an item whose kind is not the catalog's kind
for its code is rejected by itself."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.adapters.sqlite_store import SqliteDocumentStore
from shared.documents import AchievementDoc, MsaLinkDoc, msa_pk, partner_pk
from shared.domain.catalog import load_catalog
from shared.services.feeds import FeedService

CATALOG = load_catalog()
T0 = datetime(2026, 11, 25, 2, tzinfo=UTC)


def service(folder: Path) -> tuple[SqliteDocumentStore, FeedService]:
    store = SqliteDocumentStore(folder / "s.sqlite3")
    link = MsaLinkDoc(id="link", msa_id="m1", partner_id="p1", user_id="u1", state="linked", epoch=1, linked_at=T0)
    store.upsert(msa_pk("m1"), link.to_doc())
    return store, FeedService(store, CATALOG)


def item(earned: str, expires: str | None, code: str = "70-533", kind: str = "exam") -> dict[str, Any]:
    out = {"msaId": "m1", "kind": kind, "code": code, "earnedOn": earned}
    if expires:
        out["expiresOn"] = expires
    return out


def stored(store: SqliteDocumentStore) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    source = store.read(msa_pk("m1"), AchievementDoc.source_id("exam", "70-533"))
    copy = store.read(partner_pk("p1"), AchievementDoc.copy_id("m1", "exam", "70-533"))
    return (source.body if source else None), (copy.body if copy else None)


def test_a_late_replay_of_an_older_record_changes_nothing(tmp_path: Path) -> None:
    store, feeds = service(tmp_path)
    feeds.post_achievements([item("2026-01-10", "2027-01-10")])  # the renewal
    before = stored(store)
    out = feeds.post_achievements([item("2024-01-10", "2025-01-10")])  # a replay of the old one
    assert out.accepted == 1 and out.unchanged == 1
    assert stored(store) == before
    assert before[1] is not None and before[1]["expiresOn"] == "2027-01-10"


RECORDS = [item("2024-01-10", "2025-01-10"), item("2025-01-10", "2026-01-10"), item("2025-01-10", "2026-06-01"), item("2025-01-10", None)]


@settings(max_examples=40, deadline=None)
@given(st.permutations(RECORDS), st.integers(min_value=1, max_value=4))
def test_reordered_deliveries_keep_the_newest(order: list[dict[str, Any]], batch: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store, feeds = service(Path(folder))
        for start in range(0, len(order), batch):
            feeds.post_achievements(order[start : start + batch])
        source, copy = stored(store)
        assert source is not None and copy is not None
        # newest by earnedOn, then expiresOn (no expiry is the latest)
        assert (source["earnedOn"], source.get("expiresOn")) == ("2025-01-10", None)
        assert (copy["earnedOn"], copy.get("expiresOn")) == ("2025-01-10", None)


def test_an_item_whose_kind_is_not_the_catalogs_is_rejected_by_itself(tmp_path: Path) -> None:
    store, feeds = service(tmp_path)
    out = feeds.post_achievements([item("2026-01-10", None, kind="certification"), item("2026-01-10", None, code="70-532")])
    assert out.accepted == 1
    assert [(r.index, r.code) for r in out.rejected] == [(0, "70-533")]
    assert "as exam, not certification" in out.rejected[0].reason
    assert store.read(msa_pk("m1"), AchievementDoc.source_id("certification", "70-533")) is None
