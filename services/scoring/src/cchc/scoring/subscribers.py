"""Entrypoints: the scoring service's endpoints, each a typed FastStream subscriber."""

from collections.abc import Callable
from typing import Any

from cchc.contracts.scoring_commands import SERVICE
from cchc.runtime.endpoints import ServiceRouter
from cchc.scoring.handlers import ScoringCommandHandlers
from cchc.scoring.queries import ScoringQueries

__all__ = ["SERVICE", "endpoints"]


def endpoints(
    commands: ScoringCommandHandlers, queries: ScoringQueries, health: Callable[..., Any],
    max_workers: int,
) -> ServiceRouter:
    return ServiceRouter.of(SERVICE, {
        "define-framework": commands.define_framework,
        "open-assessment": commands.open_assessment,
        "submit-self-scores": commands.submit_self_scores,
        "record-appraisal": commands.record_appraisal,
        "record-survey": commands.record_survey,
        "finish-assessment": commands.finish_assessment,
        "record-index-result": commands.record_index_result,
        "get-framework": queries.get_framework,
        "list-frameworks": queries.list_frameworks,
        "framework-templates": queries.framework_templates,
        "get-assessment": queries.get_assessment,
        "list-assessments": queries.list_assessments,
        "rankings": queries.rankings,
        "agency-indexes": queries.agency_indexes,
        "health": health,
    }, max_workers)
