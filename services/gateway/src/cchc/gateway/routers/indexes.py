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
from cchc.gateway.deps import (
    CommandCallDep,
    GatewayDep,
    QueryCallDep,
    provincial_writer,
    require_readable,
    require_writable,
)
from cchc.gateway.forwarding import ask_query, send_command
from cchc.gateway.problems import COMMAND_PROBLEM_RESPONSES, PROBLEM_RESPONSES
from fastapi import APIRouter, Depends, Path, Query

router = APIRouter(prefix="/api/v1", tags=["indexes"], responses=PROBLEM_RESPONSES)

AssessmentId = Annotated[str, Path(pattern=TOKEN_PATTERN, description="the assessment's id")]
FrameworkCode = Annotated[str, Path(pattern=TOKEN_PATTERN, description="the framework's code")]
AgencyFilter = Annotated[str | None, Query(pattern=TOKEN_PATTERN, description="agency code")]
Year = Annotated[int, Query(ge=2000, le=2100)]
AsOf = Annotated[date | None, Query(description="results published by this day (default: all)")]
Position = Annotated[int | None, Query(ge=0, description="a log position of that stream to wait for")]
PROVINCIAL = [Depends(provincial_writer)]


# --- frameworks -------------------------------------------------------------------------------


@router.post("/index-frameworks", status_code=201, operation_id="define_index_framework",
             response_model=ANSWERS[("scoring", "define-framework")],
             dependencies=PROVINCIAL, responses=COMMAND_PROBLEM_RESPONSES)
async def define_framework(body: DefineFramework, gw: GatewayDep, call: CommandCallDep):
    return await send_command(gw, call, SERVICE, "define-framework", body, success_status=201,
                              location="/api/v1/index-frameworks")


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


@router.post("/assessments", status_code=201, operation_id="open_assessment",
             response_model=ANSWERS[("scoring", "open-assessment")],
             responses=COMMAND_PROBLEM_RESPONSES)
async def open_assessment(body: OpenAssessment, gw: GatewayDep, call: CommandCallDep):
    require_writable(call.caller, body.agency)
    return await send_command(gw, call, SERVICE, "open-assessment", body, success_status=201,
                              location="/api/v1/assessments")


@router.post("/assessments/{assessment_id}/self-scores", operation_id="submit_self_scores",
             response_model=ANSWERS[("scoring", "submit-self-scores")],
             responses=COMMAND_PROBLEM_RESPONSES)
async def submit_self_scores(assessment_id: AssessmentId, body: SubmitSelfScores, gw: GatewayDep,
                             call: CommandCallDep):
    return await send_command(gw, call, SERVICE, "submit-self-scores", body, target=assessment_id)


@router.post("/assessments/{assessment_id}/appraisal", operation_id="record_appraisal",
             response_model=ANSWERS[("scoring", "record-appraisal")],
             dependencies=PROVINCIAL, responses=COMMAND_PROBLEM_RESPONSES)
async def record_appraisal(assessment_id: AssessmentId, body: RecordAppraisal, gw: GatewayDep,
                           call: CommandCallDep):
    return await send_command(gw, call, SERVICE, "record-appraisal", body, target=assessment_id)


@router.post("/assessments/{assessment_id}/survey", operation_id="record_survey",
             response_model=ANSWERS[("scoring", "record-survey")],
             dependencies=PROVINCIAL, responses=COMMAND_PROBLEM_RESPONSES)
async def record_survey(assessment_id: AssessmentId, body: RecordSurvey, gw: GatewayDep,
                        call: CommandCallDep):
    return await send_command(gw, call, SERVICE, "record-survey", body, target=assessment_id)


@router.post("/assessments/{assessment_id}/finish", operation_id="finish_assessment",
             response_model=ANSWERS[("scoring", "finish-assessment")],
             dependencies=PROVINCIAL, responses=COMMAND_PROBLEM_RESPONSES)
async def finish_assessment(assessment_id: AssessmentId, gw: GatewayDep, call: CommandCallDep,
                            body: FinishAssessment | None = None):
    """Publish the result: the finals, auto values and their explanations are frozen."""
    return await send_command(gw, call, SERVICE, "finish-assessment", body or FinishAssessment(),
                              target=assessment_id)


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


@router.post("/index-results", status_code=201, operation_id="record_index_result",
             response_model=ANSWERS[("scoring", "record-index-result")],
             dependencies=PROVINCIAL, responses=COMMAND_PROBLEM_RESPONSES)
async def record_index_result(body: RecordIndexResult, gw: GatewayDep, call: CommandCallDep):
    return await send_command(gw, call, SERVICE, "record-index-result", body, success_status=201)


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
