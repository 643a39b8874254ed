"""Report-form statistics from the read model, on SQLite and PostgreSQL, as of a period's end."""

from datetime import UTC, date, datetime
from itertools import count

from cchc.contracts.dossier import (
    Channel,
    DossierReceived,
    DossierResolved,
    DossierSupplemented,
    DossierWithdrawn,
    Outcome,
    SupplementRequested,
    Timeliness,
)
from cchc.contracts.envelope import EventEnvelope
from cchc.dossier import statistics
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


def receipt(dossier_id: str, received: str, due: str, channel=Channel.ONLINE) -> DossierReceived:
    return DossierReceived(
        dossier_id=dossier_id, agency="S1", procedure="P", channel=channel,
        received_at=at(received), receipt_day=at(received).date(), processing_days=3,
        due_at=at(due), applicant={"name": "A"},
    )


def resolution(resolved: str, due: str, timeliness: Timeliness) -> DossierResolved:
    return DossierResolved(resolved_at=at(resolved), outcome=Outcome.APPROVED, due_at=at(due),
                           timeliness=timeliness)


HISTORIES = {
    # carried over from June, resolved late in July
    "old": [receipt("old", "2022-06-27T09:00", "2022-06-30T17:00", Channel.DIRECT),
            resolution("2022-07-04T09:00", "2022-06-30T17:00", Timeliness.LATE)],
    # closed in June: not carried over
    "closed": [receipt("closed", "2022-06-20T09:00", "2022-06-23T17:00"),
               resolution("2022-06-22T09:00", "2022-06-23T17:00", Timeliness.EARLY)],
    "early": [receipt("early", "2022-07-04T09:00", "2022-07-07T17:00"),
              resolution("2022-07-06T09:00", "2022-07-07T17:00", Timeliness.EARLY)],
    "on_time": [receipt("on_time", "2022-07-05T09:00", "2022-07-08T17:00", Channel.POSTAL),
                resolution("2022-07-08T16:00", "2022-07-08T17:00", Timeliness.ON_TIME)],
    # open at the end of 15/7, due 12/7: overdue
    "overdue": [receipt("overdue", "2022-07-07T09:00", "2022-07-12T17:00")],
    # open, due on 15/7 itself: not yet overdue that day
    "due_today": [receipt("due_today", "2022-07-12T09:00", "2022-07-15T17:00")],
    # awaiting a supplement at the end of 15/7 (clock stopped); supplemented only on 20/7
    "paused": [receipt("paused", "2022-07-06T09:00", "2022-07-11T17:00"),
               SupplementRequested(requested_at=at("2022-07-08T09:00"), reason="r"),
               DossierSupplemented(supplemented_at=at("2022-07-20T09:00"),
                                   restart_day=date(2022, 7, 20), due_at=at("2022-07-25T17:00"))],
    "withdrawn": [receipt("withdrawn", "2022-07-11T09:00", "2022-07-14T17:00"),
                  DossierWithdrawn(withdrawn_at=at("2022-07-12T09:00"), reason="r")],
    # resolved after the period: still in progress as of 15/7, and overdue then
    "later": [receipt("later", "2022-07-01T09:00", "2022-07-06T17:00"),
              resolution("2022-07-20T09:00", "2022-07-06T17:00", Timeliness.LATE)],
}


async def project(db_url: str):
    engine = create_engine(db_url)
    model = DossierReadModel()
    async with engine.begin() as conn:
        await conn.run_sync(model.metadata.create_all)
        for dossier_id, events in HISTORIES.items():
            for version, event in enumerate(events, start=1):
                await model.apply(conn, envelope(dossier_id, version, event))
    return engine


async def test_statistics_for_july_1_to_15_as_of_its_end(db_url):
    engine = await project(db_url)
    async with engine.connect() as conn:
        stats = (await statistics.dossier_stats(conn, ["S1"], date(2022, 7, 1), date(2022, 7, 15)))["S1"]
    await engine.dispose()
    assert stats["received"] == {
        "total": 8, "online": 6, "direct": 0, "postal": 1, "carried_over": 1}
    assert stats["resolved"] == {"total": 3, "early": 1, "on_time": 1, "late": 1}
    assert stats["in_progress"] == {"total": 4, "not_due": 2, "overdue": 2}
    assert stats["withdrawn"] == 1
    assert stats["on_time_rate"] == round(2 / 3, 4)
    received, settled = stats["received"]["total"], (
        stats["resolved"]["total"] + stats["in_progress"]["total"] + stats["withdrawn"])
    assert received == settled


async def test_an_earlier_period_sees_the_past_not_the_present(db_url):
    engine = await project(db_url)
    async with engine.connect() as conn:
        june = (await statistics.dossier_stats(conn, None, date(2022, 6, 1), date(2022, 6, 30)))["S1"]
        july_20 = (await statistics.dossier_stats(conn, None, date(2022, 7, 20), date(2022, 7, 20)))["S1"]
    await engine.dispose()
    assert june["received"]["total"] == 2 and june["resolved"]["early"] == 1
    assert june["in_progress"] == {"total": 1, "not_due": 1, "overdue": 0}  # "old", due 30/6
    # On 20/7 "paused" was supplemented (due 25/7: not due), "later" resolved late that day.
    assert july_20["resolved"] == {"total": 1, "early": 0, "on_time": 0, "late": 1}
    assert july_20["in_progress"] == {"total": 3, "not_due": 1, "overdue": 2}
