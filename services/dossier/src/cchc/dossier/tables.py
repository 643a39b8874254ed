"""The dossier service's read model: SQL tables rebuilt from the DOSSIER stream."""

from sqlalchemy import (
    JSON,
    BigInteger,
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

agencies = Table(
    "agencies",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("group", String(20), nullable=False),
    Column("registered_at", UtcDateTime(), nullable=False),
)

procedures = Table(
    "procedures",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name", String(500), nullable=False),
    Column("agency", String(64), nullable=False, index=True),
    Column("field", String(200), nullable=False),
    Column("processing_days", Integer, nullable=False),
    Column("online_level", String(10), nullable=False),
    Column("published_at", UtcDateTime(), nullable=False),
    Column("published_on", Date, nullable=False),  # the publishing decision's date
)

calendar_days = Table(
    "calendar_days",
    metadata,
    Column("day", Date, primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("note", Text, nullable=False),
)

dossiers = Table(
    "dossiers",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("agency", String(64), nullable=False),
    Column("procedure", String(64), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("status", String(24), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("received_on", Date, nullable=False),  # the day the clock counts from
    Column("processing_days", Integer, nullable=False),
    Column("due_at", UtcDateTime()),
    Column("appointment_at", UtcDateTime()),
    Column("resolved_at", UtcDateTime()),
    Column("resolved_on", Date),
    Column("timeliness", String(10)),
    Column("outcome", String(10)),
    Column("returned_at", UtcDateTime()),
    Column("withdrawn_at", UtcDateTime()),
    Column("withdrawn_on", Date),
    # The day the report form counts its resolution or withdrawal on: that local date, but never
    # before the receipt day (a dossier filed at the weekend and resolved at once)
    Column("closed_on", Date),
    # The first day of the overdue interval counted in dossier_daily_counts and not yet ended
    # (NULL when none is open): where a supplement request or a closure puts its -1.
    Column("overdue_from", Date),
    Column("applicant", JSON, nullable=False),
    # The code on the citizen's receipt slip (NULL: received before codes existed)
    Column("receipt_code", String(100), unique=True),
    # Its events entered after the fact (older than the entry window when recorded), and the
    # latest reason given for one
    Column("late_entries", Integer, nullable=False, default=0),
    Column("late_entry_reason", String(500)),
    Column("version", Integer, nullable=False),
    Column("position", BigInteger, nullable=False),
    Index("ix_dossiers_agency_received", "agency", "received_on"),
    Index("ix_dossiers_agency_resolved", "agency", "resolved_on"),
    Index("ix_dossiers_agency_closed", "agency", "closed_on"),
    Index("ix_dossiers_received_at", "received_at", "id"),
)

# The statutory due date in force from each moment on (NULL while the clock is stopped), so
# statistics for a past date see the due date of that date.
due_periods = Table(
    "dossier_due_periods",
    metadata,
    Column("position", BigInteger, primary_key=True),
    Column("dossier_id", String(40), nullable=False),
    Column("valid_from", UtcDateTime(), nullable=False),
    Column("due_on", Date),
    Index("ix_due_periods_dossier", "dossier_id", "valid_from"),
)

# Pre-aggregated counters for the report form, kept by the projection in the batch's transaction
# (statistics.py reads only this table). Business dates never change once written, so every
# change is an increment of the row (agency, day):
# - received_<channel>: dossiers whose receipt day is ``day``;
# - resolved_<timeliness>, withdrawn: resolutions / withdrawals dated ``day``;
# - closed: dossiers closed (resolved or withdrawn) counted on max(receipt day, closing day), so
#   that sum(received - closed) over days <= D = received by D and still open at the end of D;
# - overdue_delta: +1 where an overdue interval of a dossier starts, -1 where it ends, so that
#   sum(overdue_delta) over days <= D = dossiers overdue at the end of D;
# - late_entries: dossier events whose business date is ``day`` that were entered after the fact.
COUNTERS = ("received_online", "received_direct", "received_postal", "resolved_early",
            "resolved_on_time", "resolved_late", "withdrawn", "closed", "overdue_delta",
            "late_entries")

daily_counts = Table(
    "dossier_daily_counts",
    metadata,
    Column("agency", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    *(Column(name, Integer, nullable=False, default=0) for name in COUNTERS),
)

history = Table(
    "dossier_history",
    metadata,
    Column("position", BigInteger, primary_key=True),
    Column("dossier_id", String(40), nullable=False, index=True),
    Column("type", String(60), nullable=False),
    Column("version", Integer, nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("late_entry", JSON(none_as_null=True)),  # the envelope's LateEntry; NULL when entered in time
)
