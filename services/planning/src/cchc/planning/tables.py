"""The planning service's read model: SQL tables rebuilt from the PLANNING stream.

Dates (``*_on``) are local calendar days in Asia/Ho_Chi_Minh, stored beside the instants so that
progress as of a past date is a comparison of days.
"""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from cchc.runtime.sqltypes import UtcDateTime

metadata = MetaData()

plans = Table(
    "plans",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("agency", String(64), nullable=False),
    Column("year", Integer, nullable=False),
    Column("title", String(500), nullable=False),
    Column("issued_at", UtcDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
    Column("position", BigInteger, nullable=False),
    Index("ux_plans_agency_year", "agency", "year", unique=True),
    Index("ix_plans_year", "year"),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("plan_id", String(40), nullable=False),
    Column("agency", String(64), nullable=False),
    Column("year", Integer, nullable=False),
    Column("title", String(500), nullable=False),
    Column("area", String(30), nullable=False),
    Column("due_date", Date, nullable=False),  # the one in force now; task_due_dates has the past
    Column("owner", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("percent", Integer, nullable=False),
    Column("added_at", UtcDateTime(), nullable=False),
    Column("added_on", Date, nullable=False),
    Column("completed_at", UtcDateTime()),
    Column("completed_on", Date),
    Column("on_time", Boolean),
    Column("cancelled_at", UtcDateTime()),
    Column("cancelled_on", Date),
    Column("finding_id", String(40)),
    Column("version", Integer, nullable=False),
    Column("position", BigInteger, nullable=False),
    Index("ix_tasks_plan_due", "plan_id", "due_date", "id"),
    Index("ix_tasks_agency_due", "agency", "due_date", "id"),
    Index("ix_tasks_finding", "finding_id"),
)

# The due date in force from each day on, so progress for a past date judges overdue by the due
# date of that date, not by a later rescheduling.
task_due_dates = Table(
    "task_due_dates",
    metadata,
    Column("position", BigInteger, primary_key=True),
    Column("task_id", String(40), nullable=False),
    Column("plan_id", String(40), nullable=False),
    Column("valid_from", UtcDateTime(), nullable=False),
    Column("valid_on", Date, nullable=False),
    Column("due_date", Date, nullable=False),
    Index("ix_task_due_dates_plan", "plan_id", "task_id", "position"),
)

inspections = Table(
    "inspections",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("agency", String(64), nullable=False),
    Column("inspected_on", Date, nullable=False),
    Column("team_lead", String(200), nullable=False),
    Column("scope", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("position", BigInteger, nullable=False),
    Index("ix_inspections_agency", "agency", "inspected_on"),
)

findings = Table(
    "findings",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("inspection_id", String(40), nullable=False),
    Column("agency", String(64), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("text", Text, nullable=False),
    Column("remediation", JSON),
    Column("remediation_task_id", String(40)),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("position", BigInteger, nullable=False),
    Index("ix_findings_inspection", "inspection_id", "position"),
)
