"""Assessments: given events, when a command, then an event (or a named refusal); evaluation."""

from datetime import UTC, datetime

import pytest
from cchc.contracts.scoring import AssessmentOpened, FrameworkDefined, SelfScoresSubmitted
from cchc.contracts.scoring_commands import (
    DefineFramework,
    OpenAssessment,
    RecordAppraisal,
    RecordSurvey,
    SubmitSelfScores,
)
from cchc.scoring.domain import model
from cchc.scoring.domain.errors import Conflict, InvalidCommand
from cchc.scoring.domain.evaluation import evaluate

AT = datetime(2022, 12, 20, 9, 0, tzinfo=UTC)

DEFINITION = DefineFramework.model_validate({
    "code": "PAR-SO-2022", "index": "PAR", "year": 2022, "group": "department", "max_score": 10,
    "criteria": [
        {"code": "1.1", "title": "Ban hành kế hoạch", "area": "direction", "max_points": 1,
         "method": "manual"},
        {"code": "1.2", "title": "Mức độ thực hiện kế hoạch", "area": "direction", "max_points": 2,
         "method": "auto", "metric": "plan.completion_rate",
         "bands": [{"min_rate": 0, "points": 0}, {"min_rate": 0.7, "points": 1},
                   {"min_rate": 0.9, "points": 2}]},
        {"code": "3.3", "title": "Tỷ lệ hồ sơ trực tuyến", "area": "digital_government",
         "max_points": 3, "method": "auto", "metric": "dossier.online_rate", "threshold": 0.5},
        {"code": "8.1", "title": "Mức độ hài lòng", "area": "impact", "max_points": 4,
         "method": "survey"},
    ],
})


def framework() -> model.Framework:
    return model.replay(model.evolve_framework, [model.define_framework(None, DEFINITION, AT)])


def opened(*events) -> model.Assessment:  # type: ignore[no-untyped-def]
    command = OpenAssessment(framework="PAR-SO-2022", agency="STTTT")
    first = model.open_assessment(None, framework(), "a1", command, AT)
    return model.replay(model.evolve_assessment, [first, *events])


def test_a_framework_is_defined_once():
    event = model.define_framework(None, DEFINITION, AT)
    assert isinstance(event, FrameworkDefined) and event.criteria[1].metric == "plan.completion_rate"
    with pytest.raises(Conflict):
        model.define_framework(framework(), DEFINITION, AT)


def test_an_assessment_opens_under_a_known_framework_once():
    event = model.open_assessment(None, framework(), "a1", OpenAssessment(framework="PAR-SO-2022", agency="STTTT"), AT)
    assert isinstance(event, AssessmentOpened) and (event.index, event.year) == ("PAR", 2022)
    with pytest.raises(InvalidCommand) as refused:
        model.open_assessment(None, None, "a1", OpenAssessment(framework="X", agency="STTTT"), AT)
    assert refused.value.field == "framework"
    with pytest.raises(Conflict):
        model.open_assessment(opened(), framework(), "a1", OpenAssessment(framework="PAR-SO-2022", agency="STTTT"), AT)


@pytest.mark.parametrize(
    ("scores", "field"),
    [({"9.9": 1}, "scores.9.9"), ({"1.1": 1.5}, "scores.1.1"), ({"1.2": 1}, "scores.1.2"),
     ({"8.1": 1}, "scores.8.1"), ({"1.1": -1}, "scores.1.1")],
)
def test_self_scores_only_for_manual_criteria_within_their_max(scores, field):
    with pytest.raises(InvalidCommand) as refused:
        model.submit_self_scores(opened(), framework(), SubmitSelfScores(scores=scores), AT)
    assert refused.value.field == field


def test_the_appraisal_replaces_the_self_score_it_names():
    own = model.submit_self_scores(
        opened(), framework(), SubmitSelfScores(scores={"1.1": 1}, evidence={"1.1": ["qd-12.pdf"]}), AT
    )
    appraisal = model.record_appraisal(opened(own), framework(), RecordAppraisal(scores={"1.1": 0.5}), AT)
    result = evaluate(framework(), opened(own, appraisal), {}, AT)
    first = result.criteria[0]
    assert (first.self, first.appraised, first.final) == (1, 0.5, 0.5)


def test_survey_points_are_the_satisfied_share_of_max_points():
    survey = model.record_survey(
        opened(), framework(), RecordSurvey(criterion="8.1", respondents=200, satisfied=150), AT
    )
    result = evaluate(framework(), opened(survey), {}, AT)
    assert result.criteria[3].final == 3.0
    with pytest.raises(InvalidCommand) as refused:
        model.record_survey(opened(), framework(), RecordSurvey(criterion="8.1", respondents=10, satisfied=11), AT)
    assert refused.value.field == "satisfied"
    with pytest.raises(InvalidCommand) as refused:
        model.record_survey(opened(), framework(), RecordSurvey(criterion="1.1", respondents=10, satisfied=1), AT)
    assert refused.value.field == "criterion"


def test_auto_criteria_follow_the_metric_values_and_explain_themselves():
    own = SelfScoresSubmitted(scores={"1.1": 1}, evidence={}, submitted_at=AT)
    result = evaluate(framework(), opened(own), {"plan.completion_rate": 0.76, "dossier.online_rate": 0.25}, AT)
    plan, online = result.criteria[1], result.criteria[2]
    assert (plan.auto, plan.final, plan.explanation["band"]) == (1, 1, {"min_rate": 0.7, "points": 1})
    assert (online.auto, online.explanation["rule"]) == (1.5, "0.25 × 3 / 0.5")
    assert (result.score, result.max_score, result.percent) == (3.5, 10, 35.0)
    better = evaluate(framework(), opened(own), {"plan.completion_rate": 0.95, "dossier.online_rate": 0.6}, AT)
    assert better.score == 6


def test_a_finished_assessment_keeps_its_published_finals():
    result = evaluate(framework(), opened(), {"plan.completion_rate": 0.95}, AT)
    done = opened(model.finish_assessment(opened(), result))
    assert evaluate(framework(), done, {"plan.completion_rate": 0.1}, AT).score == 2
    with pytest.raises(Conflict):
        model.submit_self_scores(done, framework(), SubmitSelfScores(scores={"1.1": 1}), AT)
    with pytest.raises(Conflict):
        model.finish_assessment(done, result)
