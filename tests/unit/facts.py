"""Evaluations for the rules' tests, described in the API shape (parts may be left out) and
read as the rules read them: through ``EvaluationFacts.from_api``, the one parser of a stored
evaluation (a property test holds it to the engine's own ``Evaluation.facts``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from shared.domain.evaluation import EvaluationFacts, ExpiringAchievement


def facts(evaluation: Mapping[str, Any], expiring: Iterable[Mapping[str, Any]] | None = None) -> EvaluationFacts:
    """``expiring``: the expiring achievements, in the API shape, instead of those the
    competencies list (which may name competencies the evaluation leaves out)."""
    out = EvaluationFacts.from_api(evaluation)
    if expiring is not None:
        out = dataclasses.replace(out, expiring=tuple(ExpiringAchievement.from_api(e) for e in expiring))
    return out


def maybe_facts(evaluation: Mapping[str, Any] | None) -> EvaluationFacts | None:
    return facts(evaluation) if evaluation is not None else None
