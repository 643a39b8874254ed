"""The scoring service's SQL tables.

Three read models, each rebuilt from one stream by its own projection (so each has its own
metadata, dropped and replayed on its own): the scoring read model from SCORING, and the
service's own metric tables from DOSSIER and PLANNING. The metrics are never asked of another
service: a rebuilt scoring database needs nothing but the log.
"""

from cchc.runtime.sqltypes import UtcDateTime
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)

# --- from the SCORING stream ------------------------------------------------------------------

metadata = MetaData()

frameworks = Table(
    "scoring_frameworks",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("index", String(10), nullable=False),
    Column("year", Integer, nullable=False),
    Column("group", String(64), nullable=False),
    Column("title", String(500), nullable=False),
    Column("max_score", Float, nullable=False),
    Column("template", Boolean, nullable=False),
    Column("definition", JSON, nullable=False),  # the FrameworkDefined payload
    Column("version", Integer, nullable=False),
    Column("position", BigInteger, nullable=False),
    Index("ix_scoring_frameworks_index_year", "index", "year"),
)

assessments = Table(
    "scoring_assessments",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("framework", String(64), nullable=False),
    Column("agency", String(64), nullable=False),
    Column("index", String(10), nullable=False),
    Column("year", Integer, nullable=False),
    Column("group", String(64), nullable=False),
    Column("status", String(12), nullable=False),  # open | finished
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime()),
    Column("self_scores", JSON, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("appraised", JSON, nullable=False),
    Column("appraisal_notes", JSON, nullable=False),
    Column("surveys", JSON, nullable=False),  # criterion -> SurveyRecorded payload
    Column("result", JSON),  # the AssessmentFinished payload once finished
    Column("version", Integer, nullable=False),
    Column("position", BigInteger, nullable=False),
    Index("ix_scoring_assessments_agency", "agency", "framework"),
    Index("ix_scoring_assessments_framework", "framework"),
)

# Every published result, finished assessments and recorded index results alike, one row per
# event: the latest per agency (by log position) among those published by a date is the one
# that ranks, so a report for a past date ranks as it did then.
index_results = Table(
    "scoring_index_results",
    metadata,
    Column("position", BigInteger, primary_key=True),
    Column("index", String(10), nullable=False),
    Column("year", Integer, nullable=False),
    Column("agency", String(64), nullable=False),
    Column("group", String(64)),  # None: the agency's registered group
    Column("score", Float, nullable=False),
    Column("source", String(20), nullable=False),  # assessment | index-result
    Column("assessment_id", String(40)),
    Column("published_on", Date, nullable=False),
    Index("ix_scoring_index_results_index_year", "index", "year"),
    Index("ix_scoring_index_results_agency", "agency", "index"),
)

# --- from the DOSSIER stream ------------------------------------------------------------------

dossier_metrics_metadata = MetaData()

metric_dossiers = Table(
    "scoring_metric_dossiers",
    dossier_metrics_metadata,
    Column("id", String(40), primary_key=True),
    Column("agency", String(64), nullable=False),
    Column("received_year", Integer, nullable=False),
    Column("channel", String(10), nullable=False),
    Column("resolved_year", Integer),
    Column("timeliness", String(10)),
    # Decision 766's judgement of the resolution (the dossier service's), and the requests
    # that judge one recorded before it existed (more than one: late)
    Column("timeliness_766", String(10)),
    Column("supplement_requests", Integer, nullable=False, default=0),
    Index("ix_scoring_metric_dossiers_agency", "agency", "received_year"),
)

metric_procedures = Table(
    "scoring_metric_procedures",
    dossier_metrics_metadata,
    Column("code", String(64), primary_key=True),
    Column("agency", String(64), nullable=False, index=True),
    Column("online_level", String(10), nullable=False),
    # The date of the publishing decision: a year's figures count what was published by its end.
    Column("published_on", Date, nullable=False),
)

# Agencies' groups rank results recorded without a group; their names title the report.
agencies = Table(
    "scoring_agencies",
    dossier_metrics_metadata,
    Column("code", String(64), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("group", String(20), nullable=False),
)

# --- from the PLANNING stream -----------------------------------------------------------------

planning_metrics_metadata = MetaData()

metric_tasks = Table(
    "scoring_metric_tasks",
    planning_metrics_metadata,
    Column("id", String(40), primary_key=True),
    Column("agency", String(64), nullable=False),
    Column("year", Integer, nullable=False),
    Column("status", String(12), nullable=False),  # open | completed | cancelled
    # Local dates of the business times: a year's figures are those as of its end.
    Column("added_on", Date, nullable=False),
    Column("completed_on", Date),
    Column("cancelled_on", Date),
    Index("ix_scoring_metric_tasks_agency", "agency", "year"),
)
