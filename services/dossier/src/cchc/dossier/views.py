"""What the API shows of a dossier, built from the aggregate (commands) or a row (queries)."""

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, field_serializer

from cchc.contracts.envelope import EventEnvelope
from cchc.dossier.domain.calendar import LOCAL_TZ
from cchc.dossier.domain.model import Dossier


class DossierView(BaseModel):
    id: str
    agency: str
    procedure: str
    channel: str
    status: str
    received_at: datetime
    receipt_day: date
    due_at: datetime | None
    appointment_at: datetime | None
    resolved_at: datetime | None
    returned_at: datetime | None
    withdrawn_at: datetime | None
    outcome: str | None
    timeliness: str | None
    version: int
    receipt_code: str | None = None

    @field_serializer(
        "received_at", "due_at", "appointment_at", "resolved_at", "returned_at", "withdrawn_at"
    )
    def in_local_time(self, moment: datetime | None) -> str | None:
        # Times are shown as Vietnam reads them (+07:00), whatever offset they were stored in.
        return moment.astimezone(LOCAL_TZ).isoformat() if moment else None

    @classmethod
    def from_state(cls, dossier: Dossier) -> "DossierView":
        return cls(
            id=dossier.id, agency=dossier.agency, procedure=dossier.procedure,
            channel=dossier.channel.value, status=dossier.status.value,
            received_at=dossier.received_at, receipt_day=dossier.receipt_day,
            due_at=dossier.due_at, appointment_at=dossier.appointment_at,
            resolved_at=dossier.resolved_at, returned_at=dossier.returned_at,
            withdrawn_at=dossier.withdrawn_at,
            outcome=dossier.outcome.value if dossier.outcome else None,
            timeliness=dossier.timeliness.value if dossier.timeliness else None,
            version=dossier.version, receipt_code=dossier.receipt_code,
        )

    @classmethod
    def from_row(cls, row: Any) -> "DossierView":
        return cls.model_validate({**row._mapping, "receipt_day": row.received_on})

    def with_late_entry(self, row: Any) -> dict[str, Any]:
        """The answer of a query: the view, with the row's late entries."""
        return {**self.model_dump(mode="json"),
                "late_entry": late_entry_view(row.late_entries, row.late_entry_reason)}


def dossier_summary(dossier: Dossier) -> dict[str, Any]:
    return DossierView.from_state(dossier).model_dump(mode="json")


def late_entry_summary(envelopes: list[EventEnvelope]) -> dict[str, Any]:
    """A dossier's ``late_entry``: how many of its events were entered after the fact and the
    latest reason given (None when every event was entered in time)."""
    late = [e.late_entry for e in envelopes if e.late_entry is not None]
    return {"late_entry": late_entry_view(len(late), next(
        (mark.reason for mark in reversed(late) if mark.reason), None))}


def late_entry_view(events: int, reason: str | None) -> dict[str, Any] | None:
    return {"events": events, "reason": reason or ""} if events else None
