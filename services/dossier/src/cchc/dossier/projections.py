"""The dossier read model: the events of the DOSSIER stream become rows, a batch at a time.

Runs inside the projection runner's batch transaction. A batch is folded in memory first — a
dossier received and resolved in the same batch is inserted once, already resolved; an existing
dossier touched several times is updated once with the merged values — then written with one
bulk statement per kind of row. SQL Core only: the same code runs on SQLite and PostgreSQL.

The report form's counters (``dossier_daily_counts``, see tables.py) are kept here too: each
event adds to the (agency, day) rows it concerns; the batch's increments are summed in memory and
written with one upsert. The overdue count is a running sum of +1/-1 deltas: a due period
(receipt or supplementation, due date D, valid from day V) makes a dossier overdue from
max(V, D + 1, receipt day) on; the next change of due period (a supplement request, day R) or
the closure (day C) ends that interval at max(start, R or C), so an interval that ends before it
starts adds nothing. An extension changes no due date, so no counter. Decision 766's clock
keeps its own resolved and overdue counters beside these (counters_766.py).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from cchc.contracts.envelope import EventEnvelope
from cchc.contracts.events import Event, decode_event
from cchc.dossier import counters_766, tables
from cchc.dossier.aggregates import CONTEXT, REFERENCE_EVENT_TYPES
from cchc.dossier.counters_766 import Clock766
from cchc.dossier.domain.calendar import local_date
from cchc.dossier.domain.clock_766 import late_by_requests, resolution_timeliness_766
from cchc.runtime.bulk_rows import AddOnConflict, delete_rows, insert_rows, update_rows
from cchc.runtime.sqldb import upsert
from sqlalchemy import String, any_, bindparam, func, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

# The event types that move a counter of an already received dossier: its clock state is read
# from the table first (one query per batch).
CLOCK_EVENT_TYPES = frozenset(
    {"SupplementRequested", "DossierSupplemented", "DossierResolved", "DossierWithdrawn"}
)
_COUNTER_INDEX = {name: index for index, name in enumerate(tables.COUNTERS)}
# A day's counts of an agency add to what earlier batches counted.
_ADD_COUNTS = AddOnConflict(keys=("agency", "day"), add=tables.COUNTERS)
_OVERDUE = _COUNTER_INDEX["overdue_delta"]
_CLOSED = _COUNTER_INDEX["closed"]
_LATE_ENTRIES = _COUNTER_INDEX["late_entries"]
_ONE_DAY = timedelta(days=1)
_IN_CHUNK = 500


@dataclass
class Clock:
    """What the counters need of a dossier: who, since when, and its open overdue interval."""

    agency: str
    received_on: date
    overdue_from: date | None
    by_766: Clock766 = field(default_factory=Clock766)


@dataclass
class RowChanges:
    """What one batch writes, folded per dossier."""

    agencies: list[dict[str, Any]] = field(default_factory=list)
    procedures: list[dict[str, Any]] = field(default_factory=list)
    calendar_days: dict[Any, dict[str, Any]] = field(default_factory=dict)
    new_dossiers: dict[str, dict[str, Any]] = field(default_factory=dict)
    dossier_updates: dict[str, dict[str, Any]] = field(default_factory=dict)
    due_periods: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    clocks: dict[str, Clock] = field(default_factory=dict)
    counts: dict[tuple[str, date], list[int]] = field(default_factory=dict)
    # dossiers stored before the batch: their late entries added, and the latest reason given
    late_entries: dict[str, dict[str, Any]] = field(default_factory=dict)

    def count(self, agency: str, day: date, counter: int, delta: int = 1) -> None:
        row = self.counts.get((agency, day))
        if row is None:
            row = self.counts[(agency, day)] = [0] * len(tables.COUNTERS)
        row[counter] += delta

    def end_overdue(self, dossier_id: str, day: date) -> Clock | None:
        """The dossier's due period ends with ``day`` (a new period or its closure)."""
        clock = self.clocks.get(dossier_id)
        if clock is not None and clock.overdue_from is not None:
            self.count(clock.agency, max(clock.overdue_from, day), _OVERDUE, -1)
            clock.overdue_from = None
        return clock

    def start_overdue(self, clock: Clock, valid_on: date, due_on: date) -> None:
        """A due period valid from ``valid_on``, due ``due_on``: overdue from the day after."""
        clock.overdue_from = max(valid_on, due_on + _ONE_DAY, clock.received_on)
        self.count(clock.agency, clock.overdue_from, _OVERDUE, +1)

    def close(self, dossier_id: str, day: date, counter: int, counter_766: int | None = None
              ) -> date:
        """The dossier is resolved or withdrawn on ``day``; returns the day the report form
        counts it on: never before its receipt day (one filed at the weekend and handled at
        once is received and closed on the next working day, so the form still adds up)."""
        clock = self.end_overdue(dossier_id, day)
        if clock is None:
            return day
        counters_766.end_overdue(self, clock.agency, clock.by_766, day)
        counted_on = max(clock.received_on, day)
        self.count(clock.agency, counted_on, counter)
        self.count(clock.agency, counted_on, _CLOSED)
        if counter_766 is not None:
            self.count(clock.agency, counted_on, counter_766)
        return counted_on

    async def load_clocks(self, conn: AsyncConnection, dossier_ids: set[str]) -> None:
        d = tables.dossiers.c
        ids = sorted(dossier_ids)
        for chunk in range(0, len(ids), _IN_CHUNK):
            some = ids[chunk:chunk + _IN_CHUNK]
            if conn.dialect.name == "postgresql":  # one array parameter: one prepared statement
                wanted = d.id == any_(bindparam("ids", some, type_=postgresql.ARRAY(String)))
            else:
                wanted = d.id.in_(some)
            query = select(d.id, d.agency, d.received_on, d.overdue_from,
                           d.supplement_requests, d.irregular_supplement,
                           d.overdue_766_from).where(wanted)
            for (dossier_id, agency, received_on, overdue_from, requests, irregular,
                 overdue_766_from) in await conn.execute(query):
                self.clocks[dossier_id] = Clock(
                    agency, received_on, overdue_from,
                    Clock766(requests, bool(irregular), overdue_766_from))

    def late_entry(self, envelope: EventEnvelope) -> None:
        """The event was entered after the fact: counted on its business date and its dossier."""
        assert envelope.late_entry is not None
        self.count(envelope.agency, local_date(envelope.occurred_at), _LATE_ENTRIES)
        reason = envelope.late_entry.reason or None
        row = self.new_dossiers.get(envelope.aggregate_id)
        if row is None:
            row = self.late_entries.setdefault(
                envelope.aggregate_id, {"late_entries": 0, "late_entry_reason": None})
        row["late_entries"] += 1
        row["late_entry_reason"] = reason or row["late_entry_reason"]

    def set(self, envelope: EventEnvelope, **values: Any) -> None:
        values.update(version=envelope.aggregate_version, position=envelope.position)
        row = self.new_dossiers.get(envelope.aggregate_id)
        if row is None:
            row = self.dossier_updates.setdefault(envelope.aggregate_id, {})
        row.update(values)

    def due_period(self, envelope: EventEnvelope, valid_from: Any, due_at: Any) -> None:
        self.due_periods.append({
            "position": envelope.position, "dossier_id": envelope.aggregate_id,
            "valid_from": valid_from, "due_on": local_date(due_at) if due_at else None,
        })

    async def write(self, conn: AsyncConnection) -> None:
        if self.agencies:  # a registration stated again (straight to the log) replaces the first
            latest = {row["code"]: row for row in self.agencies}  # one row per code per statement
            await conn.execute(upsert(conn, tables.agencies, ["code"]), list(latest.values()))
        if self.procedures:
            await insert_rows(conn, tables.procedures, self.procedures)
        if self.calendar_days:
            days = tables.calendar_days
            await delete_rows(conn, days, "day", list(self.calendar_days))
            await insert_rows(conn, days, list(self.calendar_days.values()))
        if self.new_dossiers:
            await insert_rows(conn, tables.dossiers, list(self.new_dossiers.values()))
        await self._write_updates(conn)
        await self._write_late_entries(conn)
        await self._write_counts(conn)
        if self.due_periods:
            await insert_rows(conn, tables.due_periods, self.due_periods)
        if self.history:
            await insert_rows(conn, tables.history, self.history)

    async def _write_updates(self, conn: AsyncConnection) -> None:
        # One executemany per set of columns; each dossier appears once, so order is free.
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for dossier_id, values in self.dossier_updates.items():
            by_columns.setdefault(tuple(sorted(values)), []).append({"id": dossier_id, **values})
        for rows in by_columns.values():
            await update_rows(conn, tables.dossiers, "id", rows)

    async def _write_late_entries(self, conn: AsyncConnection) -> None:
        if not self.late_entries:
            return
        d = tables.dossiers
        statement = update(d).where(d.c.id == bindparam("dossier_id")).values(
            late_entries=d.c.late_entries + bindparam("added"),
            late_entry_reason=func.coalesce(bindparam("reason", type_=String), d.c.late_entry_reason))
        await conn.execute(statement, [
            {"dossier_id": dossier_id, "added": row["late_entries"],
             "reason": row["late_entry_reason"]} for dossier_id, row in self.late_entries.items()])

    async def _write_counts(self, conn: AsyncConnection) -> None:
        rows = [
            {"agency": agency, "day": day, **dict(zip(tables.COUNTERS, values, strict=True))}
            for (agency, day), values in self.counts.items() if any(values)
        ]
        await insert_rows(conn, tables.daily_counts, rows, on_conflict=_ADD_COUNTS)


def _agency_registered(rows: RowChanges, envelope: EventEnvelope, event: Any) -> None:
    rows.agencies.append({"code": event.code, "name": event.name, "group": event.group.value,
                          "registered_at": envelope.recorded_at})


def _procedure_published(rows: RowChanges, envelope: EventEnvelope, event: Any) -> None:
    rows.procedures.append({
        "code": event.code, "name": event.name, "agency": event.agency, "field": event.field,
        "processing_days": event.processing_days, "online_level": event.online_level.value,
        "published_at": event.published_at,
        "published_on": event.published_on or local_date(event.published_at),
    })


def _calendar_day_declared(rows: RowChanges, envelope: EventEnvelope, event: Any) -> None:
    rows.calendar_days[event.date] = {"day": event.date, "kind": event.kind.value, "note": event.note}


def _received(rows: RowChanges, envelope: EventEnvelope, event: Any) -> None:
    # Keyed by the envelope's aggregate id, like every later change and due period of it.
    rows.new_dossiers[envelope.aggregate_id] = {
        "id": envelope.aggregate_id, "agency": event.agency, "procedure": event.procedure,
        "channel": event.channel.value, "status": "in_progress", "received_at": event.received_at,
        "received_on": event.receipt_day, "processing_days": event.processing_days,
        "due_at": event.due_at, "appointment_at": event.due_at, "resolved_at": None,
        "resolved_on": None, "timeliness": None, "outcome": None, "returned_at": None,
        "withdrawn_at": None, "withdrawn_on": None, "closed_on": None, "overdue_from": None,
        "due_at_766": event.due_at, "timeliness_766": None, "supplement_requests": 0,
        "irregular_supplement": False, "overdue_766_from": None,
        "applicant": event.applicant, "receipt_code": event.receipt_code, "late_entries": 0,
        "late_entry_reason": None, "version": envelope.aggregate_version,
        "position": envelope.position,
    }
    rows.due_period(envelope, event.received_at, event.due_at)
    clock = rows.clocks[envelope.aggregate_id] = Clock(event.agency, event.receipt_day, None)
    rows.count(event.agency, event.receipt_day, _COUNTER_INDEX[f"received_{event.channel.value}"])
    rows.start_overdue(clock, local_date(event.received_at), local_date(event.due_at))
    assert clock.overdue_from is not None
    counters_766.start_overdue(rows, clock.agency, clock.by_766, clock.overdue_from)
    rows.new_dossiers[envelope.aggregate_id].update(
        overdue_from=clock.overdue_from, overdue_766_from=clock.by_766.overdue_from)


def _supplement_requested(rows: RowChanges, envelope: EventEnvelope, event: Any) -> None:
    requested_on = local_date(event.requested_at)
    clock = rows.end_overdue(envelope.aggregate_id, requested_on)
    rows.set(envelope, status="awaiting_supplement", due_at=None, appointment_at=None,
             overdue_from=None, due_at_766=None)
    if clock is not None:
        by_766 = clock.by_766
        counters_766.supplement_requested(rows, clock.agency, by_766, clock.received_on,
                                          requested_on, bool(event.irregular))
        rows.set(envelope, supplement_requests=by_766.supplement_requests,
                 irregular_supplement=by_766.irregular_supplement,
                 overdue_766_from=by_766.overdue_from)
    rows.due_period(envelope, event.requested_at, None)


def _supplemented(rows: RowChanges, envelope: EventEnvelope, event: Any) -> None:
    valid_on = local_date(event.supplemented_at)
    clock = rows.end_overdue(envelope.aggregate_id, valid_on)
    if clock is not None:
        rows.start_overdue(clock, valid_on, local_date(event.due_at))
    rows.set(envelope, status="in_progress", due_at=event.due_at, appointment_at=event.due_at,
             overdue_from=clock.overdue_from if clock is not None else None)
    # An event written before the 766 clock existed records no 766 due time: the form's stands in
    due_at_766 = event.due_at_766 or event.due_at
    if clock is not None:
        by_766 = clock.by_766
        if late_by_requests(by_766.supplement_requests):
            due_at_766 = None
        counters_766.supplemented(rows, clock.agency, by_766, clock.received_on, valid_on,
                                  local_date(event.due_at_766 or event.due_at))
        rows.set(envelope, overdue_766_from=by_766.overdue_from)
    rows.set(envelope, due_at_766=due_at_766)
    rows.due_period(envelope, event.supplemented_at, event.due_at)


def _extended(rows: RowChanges, envelope: EventEnvelope, event: Any) -> None:
    rows.set(envelope, appointment_at=event.new_due_at)


def _resolved(rows: RowChanges, envelope: EventEnvelope, event: Any) -> None:
    resolved_on = local_date(event.resolved_at)
    clock = rows.clocks.get(envelope.aggregate_id)
    requests = clock.by_766.supplement_requests if clock is not None else 0
    timeliness_766 = resolution_timeliness_766(event, requests).value
    closed_on = rows.close(envelope.aggregate_id, resolved_on,
                           _COUNTER_INDEX[f"resolved_{event.timeliness.value}"],
                           _COUNTER_INDEX[f"resolved_766_{timeliness_766}"])
    rows.set(envelope, status="resolved", resolved_at=event.resolved_at, resolved_on=resolved_on,
             timeliness=event.timeliness.value, outcome=event.outcome.value, closed_on=closed_on,
             overdue_from=None, timeliness_766=timeliness_766, overdue_766_from=None)


def _returned(rows: RowChanges, envelope: EventEnvelope, event: Any) -> None:
    rows.set(envelope, status="returned", returned_at=event.returned_at)


def _withdrawn(rows: RowChanges, envelope: EventEnvelope, event: Any) -> None:
    withdrawn_on = local_date(event.withdrawn_at)
    closed_on = rows.close(envelope.aggregate_id, withdrawn_on, _COUNTER_INDEX["withdrawn"])
    rows.set(envelope, status="withdrawn", withdrawn_at=event.withdrawn_at,
             withdrawn_on=withdrawn_on, closed_on=closed_on, overdue_from=None,
             overdue_766_from=None)


_FOLDERS: dict[str, Callable[[RowChanges, EventEnvelope, Event], None]] = {
    "AgencyRegistered": _agency_registered,
    "ProcedurePublished": _procedure_published,
    "CalendarDayDeclared": _calendar_day_declared,
    "DossierReceived": _received,
    "SupplementRequested": _supplement_requested,
    "DossierSupplemented": _supplemented,
    "DossierExtended": _extended,
    "DossierResolved": _resolved,
    "ResultReturned": _returned,
    "DossierWithdrawn": _withdrawn,
}


def _history_row(envelope: EventEnvelope) -> dict[str, Any]:
    return {
        "position": envelope.position, "dossier_id": envelope.aggregate_id, "type": envelope.type,
        "version": envelope.aggregate_version, "occurred_at": envelope.occurred_at,
        "recorded_at": envelope.recorded_at, "actor": envelope.actor, "payload": envelope.payload,
        "late_entry": (envelope.late_entry.model_dump(exclude_none=True)
                       if envelope.late_entry else None),
    }


class DossierReadModel:
    # v2: daily counters and dossiers.overdue_from; v3: procedures.published_on; v4: late entries,
    # receipt codes and Decision 766's clock (dossiers' 766 columns and counters)
    name = "dossier-read-v4"
    context = CONTEXT
    metadata = tables.metadata
    # Its writes find rows by primary key only: a replay builds the other indexes at its end.
    defer_indexes = True

    async def apply(self, conn: AsyncConnection, envelope: EventEnvelope) -> None:
        await self.apply_batch(conn, [envelope])

    async def apply_batch(self, conn: AsyncConnection, envelopes: list[EventEnvelope]) -> None:
        rows = RowChanges()
        received = {e.aggregate_id for e in envelopes if e.type == "DossierReceived"}
        earlier = {e.aggregate_id for e in envelopes
                   if e.type in CLOCK_EVENT_TYPES and e.aggregate_id not in received}
        if earlier:
            await rows.load_clocks(conn, earlier)
        for envelope in envelopes:
            fold = _FOLDERS.get(envelope.type)
            if fold is None:
                continue  # a type this version does not read (a newer producer): nothing to show
            fold(rows, envelope, decode_event(envelope.type, envelope.schema_version, envelope.payload))
            if envelope.type not in REFERENCE_EVENT_TYPES:
                rows.history.append(_history_row(envelope))
                if envelope.late_entry is not None:
                    rows.late_entry(envelope)
        await rows.write(conn)
