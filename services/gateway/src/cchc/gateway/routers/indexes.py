"""Indexes (chỉ số): frameworks, assessments (self-scores, appraisal, survey, finish), published
results and rankings.

Roles: frameworks, appraisal, surveys, finishing and recorded results are the Department of Home
Affairs' work (and admin's); an officer opens and self-scores its own agency's assessments; an
inspector reads. Rankings are readable by every role. The service checks what only it knows (the
agency of an assessment); the gateway checks roles and any agency named in the body or query.
"""

from datetime import date
from typing import Annotated

from cchc.contracts.answers import ANSWERS
from cchc.contracts.scoring import IndexKind
from cchc.contracts.scoring_commands import (
    SERVICE,
    AgencyIndexesQuery,
    AssessmentListQuery,
    AssessmentQuery,
    DefineFramework,
    FinishAssessment,
    FrameworkListQuery,
    OpenAssessment,
    RankingsQuery,
    RecordAppraisal,
    RecordIndexResult,
    RecordSurvey,
    SubmitSelfScores,
)
from cchc.contracts.subjects import TOKEN_PATTERN
from cchc.gateway.command_table import CommandRoute, Who, add_command_routes
from cchc.gateway.deps import GatewayDep, QueryCallDep, require_readable
from cchc.gateway.forwarding import ask_query
from cchc.gateway.problems import PROBLEM_RESPONSES
from fastapi import APIRouter, Path, Query

router = APIRouter(prefix="/api/v1", tags=["indexes"], responses=PROBLEM_RESPONSES)

AssessmentId = Annotated[str, Path(pattern=TOKEN_PATTERN, description="the assessment's id")]
FrameworkCode = Annotated[str, Path(pattern=TOKEN_PATTERN, description="the framework's code")]
AgencyFilter = Annotated[str | None, Query(pattern=TOKEN_PATTERN, description="agency code")]
Year = Annotated[int, Query(ge=2000, le=2100)]
AsOf = Annotated[date | None, Query(description="results published by this day (default: all)")]
Position = Annotated[int | None, Query(ge=0, description="a log position of that stream to wait for")]

COMMANDS = [
    CommandRoute("/index-frameworks", DefineFramework, "define-framework",
                 "define_index_framework", Who.PROVINCIAL, status=201,
                 created_under="/api/v1/index-frameworks"),
    CommandRoute("/assessments", OpenAssessment, "open-assessment", "open_assessment",
                 Who.AGENCY_IN_BODY, status=201, created_under="/api/v1/assessments"),
    CommandRoute("/assessments/{assessment_id}/self-scores", SubmitSelfScores,
                 "submit-self-scores", "submit_self_scores"),
    CommandRoute("/assessments/{assessment_id}/appraisal", RecordAppraisal, "record-appraisal",
                 "record_appraisal", Who.PROVINCIAL),
    CommandRoute("/assessments/{assessment_id}/survey", RecordSurvey, "record-survey",
                 "record_survey", Who.PROVINCIAL),
    CommandRoute("/assessments/{assessment_id}/finish", FinishAssessment, "finish-assessment",
                 "finish_assessment", Who.PROVINCIAL, body_optional=True,
                 description="Publish the result: the finals, auto values and their "
                             "explanations are frozen."),
    CommandRoute("/index-results", RecordIndexResult, "record-index-result",
                 "record_index_result", Who.PROVINCIAL, status=201),
]
add_command_routes(router, SERVICE, COMMANDS)


# --- frameworks -------------------------------------------------------------------------------


@router.get("/index-frameworks", operation_id="list_index_frameworks",
             response_model=ANSWERS[("scoring", "list-frameworks")])
async def list_frameworks(gw: GatewayDep, call: QueryCallDep, index: IndexKind | None = None,
                          year: Annotated[int | None, Query(ge=2000, le=2100)] = None):
    query = FrameworkListQuery(index=index, year=year)
    return await ask_query(gw, call, SERVICE, "list-frameworks", query.model_dump(mode="json"))


@router.get("/index-framework-templates", operation_id="list_index_framework_templates",
             response_model=ANSWERS[("scoring", "framework-templates")])
async def list_framework_templates(gw: GatewayDep, call: QueryCallDep):
    """The frameworks a province starts from (PAR, SIPAS, Decision 766), to adjust and define."""
    return await ask_query(gw, call, SERVICE, "framework-templates")


@router.get("/index-frameworks/{code}", operation_id="get_index_framework",
             response_model=ANSWERS[("scoring", "get-framework")])
async def get_framework(code: FrameworkCode, gw: GatewayDep, call: QueryCallDep):
    # The code doubles as the framework's address: it was built as a subject token.
    return await ask_query(gw, call, SERVICE, "get-framework", target=code)


# --- assessments ------------------------------------------------------------------------------


@router.get("/assessments", operation_id="list_assessments",
             response_model=ANSWERS[("scoring", "list-assessments")])
async def list_assessments(gw: GatewayDep, call: QueryCallDep, agency: AgencyFilter = None,
                           framework: Annotated[str | None, Query(pattern=TOKEN_PATTERN)] = None):
    require_readable(call.caller, agency)
    query = AssessmentListQuery(agency=agency, framework=framework)
    return await ask_query(gw, call, SERVICE, "list-assessments", query.model_dump(mode="json"))


@router.get("/assessments/{assessment_id}", operation_id="get_assessment",
             response_model=ANSWERS[("scoring", "get-assessment")])
async def get_assessment(assessment_id: AssessmentId, gw: GatewayDep, call: QueryCallDep,
                         dossier_position: Position = None, planning_position: Position = None):
    """Auto criteria of an open assessment are computed now; ``dossier_position`` and
    ``planning_position`` wait until they reflect those events."""
    query = AssessmentQuery(dossier_position=dossier_position, planning_position=planning_position)
    return await ask_query(gw, call, SERVICE, "get-assessment", query.model_dump(mode="json"),
                           target=assessment_id)


# --- results and rankings ---------------------------------------------------------------------


@router.get("/index-results", operation_id="get_agency_index_results",
             response_model=ANSWERS[("scoring", "agency-indexes")])
async def agency_index_results(gw: GatewayDep, call: QueryCallDep,
                               agency: Annotated[str, Query(pattern=TOKEN_PATTERN)],
                               as_of: AsOf = None):
    """The agency's latest published year of each index, with its rank in its group."""
    require_readable(call.caller, agency)
    query = AgencyIndexesQuery(agency=agency, as_of=as_of)
    return await ask_query(gw, call, SERVICE, "agency-indexes", query.model_dump(mode="json"))


@router.get("/rankings", operation_id="get_rankings",
             response_model=ANSWERS[("scoring", "rankings")])
async def rankings(gw: GatewayDep, call: QueryCallDep, index: IndexKind, year: Year,
                   group: Annotated[str | None, Query(pattern=TOKEN_PATTERN)] = None,
                   as_of: AsOf = None):
    query = RankingsQuery(index=index, year=year, group=group, as_of=as_of)
    return await ask_query(gw, call, SERVICE, "rankings", query.model_dump(mode="json"))
