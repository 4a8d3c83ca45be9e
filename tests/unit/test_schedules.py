"""How a schedule is worded, and that the "not evaluated yet" answers follow the nightly
evaluation's setting (``EVALUATION_SCHEDULE``) rather than a time written in each of them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from shared import bootstrap
from shared.domain import membership
from shared.errors import NotFound
from shared.schedules import NIGHTLY_EVALUATION, runs
from shared.settings import Settings


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        (NIGHTLY_EVALUATION, "runs at 02:00 UTC"),
        ("0 30 1 * * *", "runs at 01:30 UTC"),
        ("15 0 23 * * *", "runs at 23:00:15 UTC"),
        ("0 0 2 * * 1-5", "runs on the schedule 0 0 2 * * 1-5 (NCRONTAB, UTC)"),
        ("0 */5 * * * *", "runs on the schedule 0 */5 * * * * (NCRONTAB, UTC)"),
    ],
)
def test_a_schedule_in_words(schedule: str, words: str) -> None:
    assert runs(schedule) == words


def test_the_default_setting_is_the_nightly_schedule() -> None:
    assert Settings.model_fields["evaluation_schedule"].default == NIGHTLY_EVALUATION == "0 0 2 * * *"


def test_not_evaluated_yet_names_the_configured_time(tmp_path: Path) -> None:
    c = bootstrap.Container(Settings(data_dir=tmp_path, evaluation_schedule="0 30 1 * * *"))
    try:
        with pytest.raises(NotFound, match=r"the nightly evaluation runs at 01:30 UTC\.$"):
            bootstrap.evaluation_service(c).latest("p1")
        with pytest.raises(NotFound, match=r"the nightly evaluation runs at 01:30 UTC\.$"):
            bootstrap.designation_service(c).view("p1")
    finally:
        c.close()
    with pytest.raises(membership.NotEligible, match=r"the nightly evaluation runs at 01:30 UTC\.$"):
        membership.buy("silver", None, None, date(2026, 11, 25), schedule="0 30 1 * * *")
