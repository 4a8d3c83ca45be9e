"""Program feeds: each bad achievement is rejected by itself; of the records of one achievement
the newest is kept (by earnedOn, then expiresOn, none being the latest) whatever the order,
batching and redelivery; performance figures are validated against the catalog, one per
metric and month, a later figure for the same month replacing the earlier."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.documents import AchievementDoc, msa_pk, partner_pk
from shared.errors import ValidationFailed
from shared.services.feeds import PerformanceIn
from tests.fakes import msa_id_of
from tests.unit.services.conftest import AZURE_EXAM, FIGURES, Suite, skill

ADA = "ada@outlook.example"
MSA = msa_id_of(ADA)


def item(earned: str, expires: str | None = None, *, msa_id: str = MSA, code: str = AZURE_EXAM, kind: str = "exam") -> dict[str, Any]:
    out: dict[str, Any] = {"msaId": msa_id, "kind": kind, "code": code, "earnedOn": earned}
    if expires is not None:
        out["expiresOn"] = expires
    return out


def kept(suite: Suite, *, partner_id: str | None = None) -> tuple[str, str | None] | None:
    """(earnedOn, expiresOn) of the record kept on the person's side, or of the partner's copy."""
    if partner_id is None:
        stored = suite.store.read(msa_pk(MSA), AchievementDoc.source_id("exam", AZURE_EXAM))
    else:
        stored = suite.store.read(partner_pk(partner_id), AchievementDoc.copy_id(MSA, "exam", AZURE_EXAM))
    return (stored.body["earnedOn"], stored.body.get("expiresOn")) if stored else None


def test_each_bad_item_is_rejected_by_itself_and_the_good_ones_are_kept(suite: Suite) -> None:
    batch: list[Any] = [  # as the JSON arrived: anything may be in it
        item("2026-01-10"),
        {"msaId": MSA, "kind": "exam", "code": "70-532"},  # no earnedOn
        item("2026-01-10", "2025-12-31", code="70-535"),  # expires before it was earned
        item("2026-01-10", msa_id="<script>", code="70-473"),
        item("2026-01-10", code="70-534", kind="certification"),  # the catalog lists 70-534 as an exam
        "not an object",
    ]
    out = suite.feeds.post_achievements(batch)
    assert out.accepted == 1 and out.unchanged == 0
    assert [r.index for r in out.rejected] == [1, 2, 3, 4, 5]
    assert "earnedOn" in out.rejected[0].reason and out.rejected[0].code == "70-532"
    assert "expiresOn" in out.rejected[1].reason
    assert "msaId" in out.rejected[2].reason
    assert "as exam, not certification" in out.rejected[3].reason
    stored = suite.store.query(msa_pk(MSA), types=["achievement"])
    assert [s.body["code"] for s in stored] == [AZURE_EXAM], "only the valid item is stored"


def test_a_redelivered_batch_is_accepted_and_changes_nothing(suite: Suite) -> None:
    batch = [item("2026-01-10", "2027-01-09"), item("2026-02-01", code="70-532")]
    first = suite.feeds.post_achievements(batch)
    before = {s.body["id"]: s.etag for s in suite.store.query(msa_pk(MSA), types=["achievement"])}
    suite.clock.advance(hours=1)
    again = suite.feeds.post_achievements(batch)
    assert (first.accepted, first.unchanged) == (2, 0)
    assert (again.accepted, again.unchanged, again.rejected) == (2, 2, [])
    assert {s.body["id"]: s.etag for s in suite.store.query(msa_pk(MSA), types=["achievement"])} == before


def test_the_same_achievement_twice_in_one_batch_is_one_record_the_newest(suite: Suite) -> None:
    out = suite.feeds.post_achievements([item("2026-01-10", "2027-01-09"), item("2024-01-10", "2025-01-09")])
    assert (out.accepted, out.unchanged) == (2, 1)
    assert kept(suite) == ("2026-01-10", "2027-01-09")


def test_a_late_older_record_does_not_replace_the_renewal_on_either_side(suite: Suite) -> None:
    suite.partner("p1")
    suite.links.link(MSA, "p1", "u1")
    suite.feeds.post_achievements([item("2026-01-10", "2028-01-09")])  # the renewal
    late = suite.feeds.post_achievements([item("2024-01-10", "2026-01-09")])  # the original, delivered late
    assert late.unchanged == 1
    assert kept(suite) == kept(suite, partner_id="p1") == ("2026-01-10", "2028-01-09")


def test_achievements_of_an_unlinked_msa_wait_on_its_side_and_count_once_it_links(suite: Suite) -> None:
    partner = suite.partner("p1")
    suite.revenue("p1", 20_000)
    suite.feeds.post_achievements([item("2026-01-10")])
    assert kept(suite) is not None and kept(suite, partner_id="p1") is None
    assert skill(suite.cloud_platform("p1"))["current"] == 0
    suite.link(partner, "u1", ADA)  # the employee links the MSA
    assert kept(suite, partner_id="p1") == ("2026-01-10", None)
    competency = suite.cloud_platform("p1")
    assert skill(competency)["contributors"] == ["u1"] and competency["achievedLevel"] == "silver"


# --- the newest wins, whatever the order ------------------------------------------------------

DAYS = [date(2024, 1, 10), date(2025, 1, 10), date(2025, 6, 1)]


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    earned = draw(st.sampled_from(DAYS))
    lasts = draw(st.sampled_from([None, 0, 180, 365, 730]))
    return item(earned.isoformat(), None if lasts is None else (earned + timedelta(days=lasts)).isoformat())


def newest(items: list[dict[str, Any]]) -> tuple[str, str | None]:
    best = max(items, key=lambda i: (i["earnedOn"], i.get("expiresOn") or "9999-12-31"))
    return best["earnedOn"], best.get("expiresOn")


@settings(max_examples=50, deadline=None)
@given(
    deliveries=st.lists(records(), min_size=1, max_size=6),
    data=st.data(),
)
def test_any_order_batching_redelivery_and_link_time_keep_the_newest_record(deliveries: list[dict[str, Any]], data: st.DataObject) -> None:
    order = data.draw(st.permutations(deliveries), label="order")
    order += data.draw(st.lists(st.sampled_from(deliveries), max_size=3), label="redelivered")
    cuts = sorted(data.draw(st.sets(st.integers(1, len(order) - 1)), label="cuts")) if len(order) > 1 else []
    batches = [order[a:b] for a, b in zip([0, *cuts], [*cuts, len(order)], strict=True)]
    link_after = data.draw(st.integers(0, len(batches)), label="linked after batch")
    with tempfile.TemporaryDirectory() as folder:
        suite = Suite(Path(folder))
        try:
            for n, batch in enumerate(batches):
                if n == link_after:
                    suite.links.link(MSA, "p1", "u1")
                suite.feeds.post_achievements(batch)
            if link_after == len(batches):
                suite.links.link(MSA, "p1", "u1")
            assert kept(suite) == newest(deliveries)
            assert kept(suite, partner_id="p1") == newest(deliveries)
        finally:
            suite.c.close()


# --- performance figures ----------------------------------------------------------------------


def figures(as_of: date, *metrics: tuple[str, str, float]) -> PerformanceIn:
    return PerformanceIn.model_validate(
        {"asOf": as_of.isoformat(), "metrics": [{"metric": m, "competencyId": c, "value": v} for m, c, v in metrics]}
    )


def revenue_current(suite: Suite) -> float:
    competency = suite.cloud_platform("p1")
    silver = next(lv for lv in competency["levels"] if lv["level"] == "silver")
    return float(next(r for r in silver["paths"][0]["requirements"] if r["kind"] == "revenueUsd")["current"])


def test_a_figure_for_an_unknown_competency_stores_nothing_of_the_request(suite: Suite) -> None:
    suite.partner("p1")
    body = figures(FIGURES, ("revenueUsd", "cloud-platform", 20_000), ("revenueUsd", "no-such-competency", 1))
    with pytest.raises(ValidationFailed) as refused:
        suite.feeds.put_performance("p1", body)
    assert refused.value.errors == [{"pointer": "#/metrics/1/competencyId", "detail": "not in the catalog"}]
    assert suite.store.query(partner_pk("p1"), types=["metric"]) == []


@pytest.mark.parametrize(
    "metrics",
    [
        [{"metric": "revenueUsd", "competencyId": "cloud-platform", "value": 1}] * 2,  # the same figure twice
        [{"metric": "revenueUsd", "competencyId": "cloud-platform", "value": -1}],
        [{"metric": "revenueUsd", "competencyId": "cloud-platform", "value": float("nan")}],
        [{"metric": "profit", "competencyId": "cloud-platform", "value": 1}],
        [],
    ],
)
def test_malformed_figures_are_refused(metrics: list[dict[str, Any]]) -> None:
    with pytest.raises(ValidationError):
        PerformanceIn.model_validate({"asOf": FIGURES.isoformat(), "metrics": metrics})


def test_a_later_figure_for_the_same_month_replaces_it_and_months_add_up_over_twelve(suite: Suite) -> None:
    suite.partner("p1")
    out = suite.feeds.put_performance("p1", figures(FIGURES, ("revenueUsd", "cloud-platform", 10_000)))
    assert (out.partner_id, out.as_of, out.stored) == ("p1", FIGURES, 1)
    suite.feeds.put_performance("p1", figures(FIGURES, ("revenueUsd", "cloud-platform", 8_000)))  # a correction
    assert revenue_current(suite) == 8_000
    suite.feeds.put_performance("p1", figures(date(2026, 9, 30), ("revenueUsd", "cloud-platform", 7_000)))
    assert revenue_current(suite) == 15_000
    suite.feeds.put_performance("p1", figures(date(2025, 9, 30), ("revenueUsd", "cloud-platform", 50_000)))  # over a year ago
    assert revenue_current(suite) == 15_000
