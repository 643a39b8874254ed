"""The fast statistics (daily counters kept by the projection) equal the reference query (a scan
of the dossiers and their due periods) for random histories and periods, on SQLite and PostgreSQL.

Histories go through the domain's own decide functions (so only what the domain allows): several
agencies, receipts at any hour (nights, weekends, 17:00 sharp), supplement requests and
supplements, extensions, resolutions, withdrawals, returns, two events at the same moment. The
dossiers' events are interleaved at random in the log (a dossier received earlier in business
time may come later in the log) and cut into random batches, each its own transaction, so a
dossier's later events often find it in the table rather than in the batch.

The same form counted by Decision 766's clock (``method="766"``) is checked against the
aggregate itself: each dossier's state as of the end of the period's last day.
"""

import asyncio
import random
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cchc.contracts.dossier import Channel, OnlineLevel, Outcome, business_time
from cchc.contracts.dossier_commands import (
    ExtendDossier,
    ReceiveDossier,
    RequestSupplement,
    ResolveDossier,
    ReturnResult,
    SupplementDossier,
    WithdrawDossier,
)
from cchc.contracts.envelope import EventEnvelope
from cchc.dossier import statistics
from cchc.dossier.domain import model
from cchc.dossier.domain.calendar import WorkingCalendar, local_date
from cchc.dossier.domain.errors import Conflict, InvalidCommand
from cchc.dossier.domain.reference import Procedure
from cchc.dossier.projections import DossierReadModel
from cchc.runtime.sqldb import create_engine

VN = WorkingCalendar()
START = datetime(2022, 1, 3, 1, 0, tzinfo=UTC)  # 08:00 in Vietnam
AGENCIES = ["S1", "S2", "S3"]
STEP = st.tuples(
    st.sampled_from(["request", "supplement", "extend", "resolve", "withdraw", "return"]),
    st.integers(0, 15 * 24),  # hours after the previous event (0: the same moment)
)
DOSSIER = st.tuples(
    st.sampled_from(AGENCIES),
    st.integers(0, 120 * 24),  # hours after START: receipt
    st.integers(1, 10),  # processing days
    st.sampled_from(list(Channel)),
    st.lists(STEP, max_size=6),
)
PERIOD = st.tuples(st.integers(-10, 260), st.integers(0, 120)).map(
    lambda p: (date(2022, 1, 1) + timedelta(days=p[0]),
               date(2022, 1, 1) + timedelta(days=p[0] + p[1]))
)
SCOPE = st.sampled_from([None, ["S1"], ["S2", "S3"], ["S9"], []])


def history(index: int, spec) -> list:
    agency, offset, days, channel, steps = spec
    procedure = Procedure(code="P", name="P", agency=agency, field="f", processing_days=days,
                          online_level=OnlineLevel.FULL)
    at = START + timedelta(hours=offset)
    events = [model.receive(f"d{index}", ReceiveDossier(
        procedure="P", channel=channel, received_at=at, applicant={"name": "A"}), procedure, VN)]
    state = model.replay(events)
    for action, delay in steps:
        at += timedelta(hours=delay)
        try:
            match action:
                case "request":
                    event = model.request_supplement(state, RequestSupplement(requested_at=at,
                                                                              reason="r"), VN)
                case "supplement":
                    event = model.supplement(state, SupplementDossier(supplemented_at=at), VN)
                case "extend":
                    promised = max(state.appointment_at or at, at) + timedelta(days=3)
                    event = model.extend(state, ExtendDossier(extended_at=at, new_due_at=promised,
                                                              reason="r"))
                case "resolve":
                    event = model.resolve(state, ResolveDossier(resolved_at=at,
                                                                outcome=Outcome.APPROVED))
                case "withdraw":
                    event = model.withdraw(state, WithdrawDossier(withdrawn_at=at, reason="r"))
                case _:
                    event = model.return_result(state, ReturnResult(returned_at=at))
        except (Conflict, InvalidCommand):
            continue
        events.append(event)
        state = model.evolve(state, event)
    return events


def log_batches(histories: list[list], rng: random.Random) -> list[list[EventEnvelope]]:
    """The histories interleaved at random (each dossier's events in order), in random batches."""
    pending = [list(enumerate(events, start=1)) for events in histories]
    log: list[EventEnvelope] = []
    while any(pending):
        which = rng.choice([n for n, queue in enumerate(pending) if queue])
        version, event = pending[which].pop(0)
        receipt = histories[which][0]
        dossier_id = receipt.dossier_id
        log.append(EventEnvelope(
            event_id=f"{dossier_id}-{version}", type=event.event_type(),
            schema_version=event.schema_version,
            context="dossier", agency=receipt.agency,
            aggregate_id=dossier_id, aggregate_version=version, occurred_at=START,
            recorded_at=START, actor="t", correlation_id="c",
            payload=event.model_dump(mode="json"), position=len(log) + 1))
    batches = []
    while log:
        size = rng.randint(1, max(1, len(log)))
        batches.append(log[:size])
        log = log[size:]
    return batches


def edge_queries(histories: list[list], rng: random.Random) -> list:
    """Periods that start or end around the days where something changes: business dates of
    the events, receipt days and due dates, the day before and after each."""
    days = set()
    for events in histories:
        for event in events:
            for moment in (business_time(event), getattr(event, "due_at", None)):
                if moment is not None:
                    days.add(local_date(moment))
            if getattr(event, "receipt_day", None):
                days.add(event.receipt_day)
    edges = sorted({day + timedelta(days=k) for day in days for k in (-1, 0, 1)})
    picked = rng.sample(edges, min(len(edges), 24))
    return [(rng.choice([None, ["S1"]]), (day - timedelta(days=rng.choice([0, 5, 40])), day))
            if n % 2 else (None, (day, day + timedelta(days=rng.choice([0, 3]))))
            for n, day in enumerate(picked)]


async def both(db_url: str, batches, queries):
    engine = create_engine(db_url)
    read_model = DossierReadModel()
    try:
        async with engine.begin() as conn:
            await conn.run_sync(read_model.metadata.drop_all)
            await conn.run_sync(read_model.metadata.create_all)
        for batch in batches:
            async with engine.begin() as conn:
                await read_model.apply_batch(conn, batch)
        async with engine.connect() as conn:
            return [(await statistics.dossier_stats(conn, scope, a, b),
                     await statistics.dossier_stats_reference(conn, scope, a, b),
                     await statistics.dossier_stats(conn, scope, a, b, method="766"))
                    for scope, (a, b) in queries]
    finally:
        await engine.dispose()


def reference_766(histories: list[list], scope, start: date, end: date) -> dict:
    """The form counted by Decision 766's clock, straight from the aggregate: each dossier's
    state as of the end of each day (its events dated by then), as the domain judges it."""
    per_agency: dict = {}
    for events in histories:
        received = events[0]
        if scope is not None and received.agency not in scope:
            continue
        final = model.replay(events)
        closed_at = final.resolved_at or final.withdrawn_at
        closed_on = max(received.receipt_day, local_date(closed_at)) if closed_at else None
        stats = per_agency.setdefault(received.agency, statistics.empty_stats())
        if start <= received.receipt_day <= end:
            stats["received"][received.channel.value] += 1
        elif received.receipt_day < start and (closed_on is None or closed_on >= start):
            stats["received"]["carried_over"] += 1
        if closed_on is not None and start <= closed_on <= end:
            if final.timeliness_766 is not None:
                stats["resolved"][final.timeliness_766.value] += 1
            else:
                stats["withdrawn"] += 1
        if received.receipt_day <= end and (closed_on is None or closed_on > end):
            overdue = overdue_766_at_end_of(events, end)
            stats["in_progress"]["overdue" if overdue else "not_due"] += 1
    for stats in per_agency.values():
        statistics._add_totals(stats)
    return {agency: stats for agency, stats in per_agency.items()
            if any((*stats["received"].values(), *stats["resolved"].values(),
                    *stats["in_progress"].values(), stats["withdrawn"]))}


def overdue_766_at_end_of(events: list, day: date) -> bool:
    known = [e for e in events if local_date(business_time(e)) <= day]
    state = model.replay(known)
    if state.supplement_requests > 1:
        return True  # late by 766 since the second request
    if state.status == model.DossierStatus.AWAITING_SUPPLEMENT:
        # Decision 766 takes the request as the end: overdue if it came after the due date.
        return local_date(events[0].due_at) < local_date(state.requested_at)
    return local_date(state.due_at_766) < day


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(specs=st.lists(DOSSIER, min_size=1, max_size=15), rng=st.randoms(use_true_random=False),
       queries=st.lists(st.tuples(SCOPE, PERIOD), min_size=1, max_size=6))
def test_the_counters_give_the_reference_statistics(db_url, specs, rng, queries):
    histories = [history(i, spec) for i, spec in enumerate(specs)]
    queries = queries + edge_queries(histories, rng)
    results = asyncio.run(both(db_url, log_batches(histories, rng), queries))
    for (fast, reference, by_766), (scope, (start, end)) in zip(results, queries, strict=True):
        assert fast == reference
        assert by_766 == reference_766(histories, scope, start, end)


def test_an_example_with_every_kind_of_event(db_url):
    """A fixed history touching each counter: the two computations agree at every day."""
    specs = [
        ("S1", 0, 3, Channel.ONLINE, [("resolve", 30)]),
        ("S1", 10, 2, Channel.DIRECT, [("request", 5), ("supplement", 100), ("resolve", 200)]),
        ("S2", 129, 1, Channel.POSTAL, [("extend", 3), ("resolve", 400), ("return", 2)]),
        ("S2", 20, 5, Channel.ONLINE, [("request", 300), ("withdraw", 50)]),
        ("S3", 130, 1, Channel.ONLINE, []),  # a Saturday night: counts from Monday
        ("S3", 131, 1, Channel.DIRECT, [("withdraw", 1)]),  # withdrawn before its receipt day
        ("S1", 40, 2, Channel.ONLINE, [("request", 1), ("supplement", 0), ("resolve", 0)]),
    ]
    histories = [history(i, spec) for i, spec in enumerate(specs)]
    queries = [(scope, (date(2022, 1, 1) + timedelta(days=a), date(2022, 1, 1) + timedelta(days=b)))
               for scope in (None, ["S2"]) for a in range(0, 40, 3) for b in (a, a + 1, a + 9)]
    results = asyncio.run(both(db_url, log_batches(histories, random.Random(1)), queries))
    assert any(fast for fast, _, _ in results)
    for (fast, reference, by_766), (scope, (start, end)) in zip(results, queries, strict=True):
        assert fast == reference
        assert by_766 == reference_766(histories, scope, start, end)
