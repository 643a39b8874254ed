"""What the API shows of frameworks, assessments and their criteria.

An assessment's view joins its framework (titles, methods, max points) with its evaluation (the
layers and finals); the same function serves a command's answer and a query's.
"""

from datetime import datetime
from typing import Any

from cchc.contracts.scoring import AssessmentFinished, FrameworkDefined, SurveyRecorded
from cchc.scoring.domain.model import Assessment, Framework


def framework_view(framework: Framework) -> dict[str, Any]:
    return {**framework.definition.model_dump(mode="json"), "version": framework.version}


def assessment_summary(assessment: Assessment) -> dict[str, Any]:
    return {
        "id": assessment.id, "framework": assessment.framework, "agency": assessment.agency,
        "index": assessment.index, "year": assessment.year, "group": assessment.group,
        "status": "finished" if assessment.finished else "open",
        "opened_at": assessment.opened_at.isoformat(), "version": assessment.version,
    }


def assessment_view(
    framework: Framework, assessment: Assessment, evaluation: AssessmentFinished
) -> dict[str, Any]:
    finals = {f.code: f for f in evaluation.criteria}
    criteria = []
    for criterion in framework.definition.criteria:
        final = finals[criterion.code]
        criteria.append({
            "code": criterion.code, "title": criterion.title, "area": criterion.area,
            "method": criterion.method.value, "max_points": criterion.max_points,
            "self": final.self, "appraised": final.appraised, "survey": final.survey,
            "auto": final.auto, "final": final.final, "explanation": final.explanation,
            "evidence": list(assessment.evidence.get(criterion.code, ())),
        })
    finished = assessment.finished
    return {
        **assessment_summary(assessment),
        "score": evaluation.score, "max_score": evaluation.max_score,
        "percent": evaluation.percent,
        "finished_at": finished.finished_at.isoformat() if finished else None,
        "appraisal_notes": list(assessment.appraisal_notes),
        "criteria": criteria,
    }


def framework_from_row(row: Any) -> Framework:
    return Framework(FrameworkDefined.model_validate(row.definition), row.version)


def assessment_from_row(row: Any) -> Assessment:
    opened_at: datetime = row.opened_at
    return Assessment(
        id=row.id, framework=row.framework, agency=row.agency, index=row.index, year=row.year,
        group=row.group, opened_at=opened_at, version=row.version,
        self_scores=dict(row.self_scores),
        evidence={code: tuple(urls) for code, urls in row.evidence.items()},
        appraised=dict(row.appraised), appraisal_notes=tuple(row.appraisal_notes),
        surveys={code: SurveyRecorded.model_validate(s) for code, s in row.surveys.items()},
        finished=AssessmentFinished.model_validate(row.result) if row.result else None,
    )
