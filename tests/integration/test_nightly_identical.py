"""Two nights over generated partners (the benchmark's shape): for every partner that did not
change in between, night 2 answers the same evaluation as night 1 (only the time differs)
without computing it, and that is what computing it afresh gives; the changed ones are
re-computed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.evaluation import _container, _drain, _feed_day
from bench.seed import NOW, seed
from shared import bootstrap
from shared.bootstrap import evaluation_service
from shared.documents import EvaluationDoc, partner_pk


def _without_time(evaluation: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in evaluation.items() if k != "evaluatedAt"}


def test_unchanged_partners_get_identical_results_on_night_two(tmp_path: Path) -> None:
    c = _container(tmp_path)
    try:
        ids = seed(c.store, c.catalog, partners=20, employees=8, achievements_per=3)
        service = evaluation_service(c)
        service.fan_out(ids, run_at=NOW)
        assert _drain(c) == len(ids)
        first = {p: service.latest(p) for p in ids}
        changed = ids[::10]
        _feed_day(c.store, changed)
        night_2 = NOW + timedelta(days=1)
        service.fan_out(ids, run_at=night_2)
        assert _drain(c) == len(ids)
        second = {p: service.latest(p) for p in ids}

        assert all(second[p]["evaluatedAt"] == "2026-11-26T02:00:00Z" for p in ids)
        for partner_id in ids:
            result, _ = service.compute(service.read_inputs(partner_id), night_2)
            fresh = result.to_api()
            assert _without_time(second[partner_id]) == _without_time(fresh), partner_id
            if partner_id not in changed:
                assert _without_time(second[partner_id]) == _without_time(first[partner_id]), partner_id
        # Night 2 re-computed exactly the changed partners; the others were reused (their stored
        # evaluation is night 1's, only the stamp is new), and the reuse is what a re-computation gives.
        computed_on = {p: c.store.read(partner_pk(p), EvaluationDoc.DOC_ID).body["evaluation"]["evaluatedAt"] for p in ids}  # type: ignore[union-attr]
        assert {p for p, at in computed_on.items() if at == "2026-11-26T02:00:00Z"} == set(changed)
    finally:
        c.close()
        bootstrap.reset()
