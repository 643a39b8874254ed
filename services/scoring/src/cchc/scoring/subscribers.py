"""Entrypoints: NATS request/reply endpoints translated into command and query handler calls."""

from cchc.contracts.scoring_commands import SERVICE
from cchc.runtime.rpc import Handler
from cchc.scoring.handlers import ScoringCommandHandlers
from cchc.scoring.queries import ScoringQueries

__all__ = ["SERVICE", "endpoints"]


def endpoints(
    commands: ScoringCommandHandlers, queries: ScoringQueries, health: Handler
) -> dict[str, Handler]:
    return {
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
    }
