"""Which model each service endpoint answers: (service, endpoint name) -> answer model.

Endpoint names are the last token of ``svc.<service>.<name>``; every endpoint but ``health``.
"""

from pydantic import BaseModel

from cchc.contracts import dossier_views as d
from cchc.contracts import planning_views as p
from cchc.contracts import scoring_views as s

ANSWERS: dict[tuple[str, str], type[BaseModel]] = {
    # dossier: reference data
    ("dossier", "register-agency"): d.RegisteredAgency,
    ("dossier", "publish-procedure"): d.PublishedProcedure,
    ("dossier", "declare-calendar-day"): d.DeclaredCalendarDay,
    ("dossier", "list-agencies"): d.AgencyPage,
    ("dossier", "list-procedures"): d.ProcedurePage,
    # dossier: dossiers
    ("dossier", "receive-dossier"): d.DossierView,
    ("dossier", "request-supplement"): d.DossierView,
    ("dossier", "supplement-dossier"): d.DossierView,
    ("dossier", "extend-dossier"): d.DossierView,
    ("dossier", "resolve-dossier"): d.DossierView,
    ("dossier", "return-result"): d.DossierView,
    ("dossier", "withdraw-dossier"): d.DossierView,
    ("dossier", "get-dossier"): d.DossierDetail,
    ("dossier", "list-dossiers"): d.DossierPage,
    ("dossier", "dossier-stats"): d.DossierStats,
    ("dossier", "procedures-published"): d.ProceduresPublished,
    ("dossier", "dossier-stats-by-field"): d.DossierFieldStats,
    ("dossier", "alerts"): d.Alerts,
    ("dossier", "receipt-slip"): d.ReceiptSlip,
    ("dossier", "public-dossier"): d.PublicDossier,
    ("dossier", "public-board"): d.PublicBoard,
    # planning
    ("planning", "issue-plan"): p.PlanSummary,
    ("planning", "add-task"): p.TaskSummary,
    ("planning", "report-progress"): p.TaskSummary,
    ("planning", "complete-task"): p.TaskSummary,
    ("planning", "cancel-task"): p.TaskSummary,
    ("planning", "reschedule-task"): p.TaskSummary,
    ("planning", "open-inspection"): p.InspectionSummary,
    ("planning", "record-finding"): p.RecordedFinding,
    ("planning", "list-plans"): p.PlanPage,
    ("planning", "get-plan"): p.PlanDetail,
    ("planning", "plan-progress"): p.PlanProgress,
    ("planning", "plan-of"): p.AgencyPlanProgress,
    ("planning", "list-tasks"): p.TaskPage,
    ("planning", "get-task"): p.TaskSummary,
    ("planning", "get-inspection"): p.InspectionDetail,
    # scoring
    ("scoring", "define-framework"): s.FrameworkView,
    ("scoring", "open-assessment"): s.AssessmentSummary,
    ("scoring", "submit-self-scores"): s.AssessmentSummary,
    ("scoring", "record-appraisal"): s.AssessmentSummary,
    ("scoring", "record-survey"): s.AssessmentSummary,
    ("scoring", "finish-assessment"): s.AssessmentSummary,
    ("scoring", "record-index-result"): s.RecordedIndexResult,
    ("scoring", "get-framework"): s.FrameworkView,
    ("scoring", "list-frameworks"): s.FrameworkPage,
    ("scoring", "framework-templates"): s.FrameworkTemplatePage,
    ("scoring", "get-assessment"): s.AssessmentView,
    ("scoring", "list-assessments"): s.AssessmentPage,
    ("scoring", "rankings"): s.Rankings,
    ("scoring", "agency-indexes"): s.AgencyIndexes,
}
