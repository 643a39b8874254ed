"""The alerts read model: every open dossier with the statutory due date in force now.

Its own tables and checkpoint (projection ``dossier-alerts-v1``), rebuilt from the DOSSIER
stream like the main read model, so a rebuild recreates every alert.
"""

from sqlalchemy import BigInteger, Column, Date, Index, MetaData, String, Table

from cchc.runtime.sqltypes import UtcDateTime

metadata = MetaData()

# One row per open dossier (deleted once resolved or withdrawn); due_at/due_on are NULL while
# the clock is stopped for a supplement (nothing can be late then).
open_dossiers = Table(
    "alert_open_dossiers",
    metadata,
    Column("dossier_id", String(40), primary_key=True),
    Column("agency", String(64), nullable=False),
    Column("procedure", String(64), nullable=False),
    Column("receipt_code", String(64)),  # None for dossiers received before receipt codes
    Column("applicant_name", String(300)),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("due_at", UtcDateTime()),
    Column("due_on", Date),
    Column("appointment_at", UtcDateTime()),
    Column("position", BigInteger, nullable=False),
    Index("ix_alert_open_dossiers_agency_due", "agency", "due_on"),
)
