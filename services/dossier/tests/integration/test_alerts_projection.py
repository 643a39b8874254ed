"""The alerts projection on SQLite and PostgreSQL: the same open dossiers and due dates whether
the events come one by one or in one batch (folded in memory), and the alerts of a day."""

from datetime import UTC, date, datetime
from itertools import count

from sqlalchemy import select

from cchc.contracts.dossier import (
    Channel,
    DossierExtended,
    DossierReceived,
    DossierResolved,
    DossierSupplemented,
    Outcome,
    SupplementRequested,
    Timeliness,
)
from cchc.contracts.envelope import EventEnvelope
from cchc.contracts.dossier_commands import AlertsQuery
from cchc.contracts.messages import CommandMeta, Principal, Request, Role
from cchc.dossier import alert_tables
from cchc.dossier.alert_projection import DossierAlertsProjection
from cchc.dossier.alert_queries import AlertQueries
from cchc.dossier.domain.calendar import LOCAL_TZ
from cchc.dossier.projections import DossierReadModel
from cchc.runtime.sqldb import create_engine


POSITIONS = count(1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LOCAL_TZ)


def envelope(dossier_id: str, version: int, event) -> EventEnvelope:
    return EventEnvelope(
        event_id=f"{dossier_id}-{version}", type=event.event_type(), schema_version=1,
        context="dossier", agency="S1", aggregate_id=dossier_id, aggregate_version=version,
        occurred_at=datetime.now(UTC), recorded_at=datetime.now(UTC), actor="t",
        correlation_id="c", payload=event.model_dump(mode="json"), position=next(POSITIONS),
    )


def receipt(dossier_id: str, received: str, due: str) -> DossierReceived:
    return DossierReceived(
        dossier_id=dossier_id, agency="S1", procedure="P", channel=Channel.ONLINE,
        received_at=at(received), receipt_day=at(received).date(), processing_days=3,
        due_at=at(due), applicant={"name": "Nguyễn Văn An"},
    )


def resolution(resolved: str, due: str, timeliness: Timeliness) -> DossierResolved:
    return DossierResolved(resolved_at=at(resolved), outcome=Outcome.APPROVED, due_at=at(due),
                           timeliness=timeliness)


HISTORIES = {
    "due_today": [receipt("due_today", "2022-07-12T09:00", "2022-07-15T17:00")],
    "due_monday": [receipt("due_monday", "2022-07-13T09:00", "2022-07-18T17:00")],
    "overdue": [receipt("overdue", "2022-07-04T09:00", "2022-07-07T17:00")],
    "later": [receipt("later", "2022-07-14T09:00", "2022-07-19T17:00")],
    "resolved": [receipt("resolved", "2022-07-12T09:00", "2022-07-15T17:00"),
                 resolution("2022-07-13T09:00", "2022-07-15T17:00", Timeliness.EARLY)],
    "paused": [receipt("paused", "2022-07-11T09:00", "2022-07-14T17:00"),
               SupplementRequested(requested_at=at("2022-07-12T09:00"), reason="r")],
    "restarted": [receipt("restarted", "2022-07-05T09:00", "2022-07-08T17:00"),
                  SupplementRequested(requested_at=at("2022-07-06T09:00"), reason="r"),
                  DossierSupplemented(supplemented_at=at("2022-07-12T14:00"),
                                      restart_day=date(2022, 7, 12),
                                      due_at=at("2022-07-15T17:00"))],
    "extended": [receipt("extended", "2022-07-12T10:00", "2022-07-15T17:00"),
                 DossierExtended(extended_at=at("2022-07-14T09:00"),
                                 new_due_at=at("2022-07-25T17:00"), reason="xin lỗi")],
}


def envelopes() -> list:
    return [envelope(dossier_id, version, event) for dossier_id, events in HISTORIES.items()
            for version, event in enumerate(events, start=1)]


async def rows_after(db_url: str, batches: list[list]) -> list[tuple]:
    engine = create_engine(db_url)
    projection = DossierAlertsProjection()
    async with engine.begin() as conn:
        await conn.run_sync(projection.metadata.create_all)
        await conn.run_sync(DossierReadModel().metadata.create_all)
        for batch in batches:
            await projection.apply_batch(conn, batch)
    async with engine.connect() as conn:
        t = alert_tables.open_dossiers.c
        rows = [tuple(row) for row in await conn.execute(
            select(t.dossier_id, t.due_on, t.appointment_at).order_by(t.dossier_id))]
    await engine.dispose()
    return rows


async def test_one_batch_and_one_event_at_a_time_agree(db_url, tmp_path):
    events = envelopes()
    one_by_one = await rows_after(f"sqlite:///{tmp_path / 'single.db'}", [[e] for e in events])
    batched = await rows_after(db_url, [events])
    assert batched == one_by_one
    assert [row[0] for row in batched] == [
        "due_monday", "due_today", "extended", "later", "overdue", "paused", "restarted"]
    due = {row[0]: row[1] for row in batched}
    assert due["paused"] is None and due["restarted"] == date(2022, 7, 15)


async def test_the_alerts_of_friday_15_july(db_url):
    engine = create_engine(db_url)
    alerts = DossierAlertsProjection()
    async with engine.begin() as conn:
        await conn.run_sync(alerts.metadata.create_all)
        await conn.run_sync(DossierReadModel().metadata.create_all)
        await alerts.apply_batch(conn, envelopes())
    meta = CommandMeta(principal=Principal(sub="t", role=Role.INSPECTOR), correlation_id="t")
    answer = await AlertQueries(engine, None, None).alerts_of_day(  # type: ignore[arg-type]
        Request[AlertsQuery](meta=meta, body={"day": "2022-07-15"}))
    await engine.dispose()
    (agency,) = answer.result["agencies"]
    assert [i["id"] for i in agency["due_today"]] == ["due_today", "extended", "restarted"]
    assert [i["id"] for i in agency["due_tomorrow"]] == ["due_monday"]
    assert [i["id"] for i in agency["overdue"]] == ["overdue"]
    assert answer.result["next_working_day"] == "2022-07-18"
