"""Properties of the report-form statistics over random dossier histories (hypothesis)."""

import asyncio
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cchc.contracts.dossier import Channel, OnlineLevel, Outcome, business_time
from cchc.contracts.dossier_commands import (
    ReceiveDossier,
    RequestSupplement,
    ResolveDossier,
    SupplementDossier,
    WithdrawDossier,
)
from cchc.contracts.envelope import EventEnvelope
from cchc.dossier import statistics
from cchc.dossier.domain import model
from cchc.dossier.domain.calendar import WorkingCalendar
from cchc.dossier.domain.reference import Procedure
from cchc.dossier.projections import DossierReadModel
from cchc.runtime.sqldb import create_engine

VN = WorkingCalendar()
START = datetime(2022, 1, 3, 1, 0, tzinfo=UTC)
ACTIONS = st.sampled_from(["none", "resolve", "withdraw", "supplement", "supplement_resolve"])
DOSSIER = st.tuples(
    st.integers(0, 200 * 24),  # hours after START: receipt
    st.integers(1, 10),  # processing days
    st.sampled_from(list(Channel)),
    ACTIONS,
    st.integers(1, 30 * 24),  # hours until the action
)


def history(index: int, spec) -> list:
    offset, days, channel, action, delay = spec
    procedure = Procedure(code="P", name="P", agency="S1", field="f", processing_days=days,
                          online_level=OnlineLevel.FULL)
    received_at = START + timedelta(hours=offset)
    events = [model.receive(f"d{index}", ReceiveDossier(
        procedure="P", channel=channel, received_at=received_at, applicant={"name": "A"}),
        procedure, VN)]
    later = received_at + timedelta(hours=delay)
    state = model.replay(events)
    if action.startswith("supplement"):
        events.append(model.request_supplement(
            state, RequestSupplement(requested_at=later, reason="r"), VN))
        later += timedelta(hours=delay)
        events.append(model.supplement(model.replay(events), SupplementDossier(supplemented_at=later), VN))
        later += timedelta(hours=delay)
    if action in ("resolve", "supplement_resolve"):
        events.append(model.resolve(model.replay(events), ResolveDossier(resolved_at=later,
                                                                        outcome=Outcome.APPROVED)))
    if action == "withdraw":
        events.append(model.withdraw(model.replay(events), WithdrawDossier(withdrawn_at=later, reason="r")))
    return events


def envelopes(histories: list[list]) -> list[EventEnvelope]:
    result, position = [], 0
    for events in histories:
        dossier_id = events[0].dossier_id
        for version, event in enumerate(events, start=1):
            position += 1
            result.append(EventEnvelope(
                event_id=f"{dossier_id}-{version}", type=event.event_type(), schema_version=1,
                context="dossier", agency="S1", aggregate_id=dossier_id, aggregate_version=version,
                occurred_at=START, recorded_at=START, actor="t", correlation_id="c",
                payload=event.model_dump(mode="json"), position=position))
    return result


async def stats_for(histories, periods):
    engine = create_engine("sqlite:///:memory:")
    model_ = DossierReadModel()
    async with engine.begin() as conn:
        await conn.run_sync(model_.metadata.create_all)
        await model_.apply_batch(conn, envelopes(histories))
        results = [(await statistics.dossier_stats(conn, None, a, b)).get("S1") for a, b in periods]
    await engine.dispose()
    return results


PERIOD = st.tuples(st.integers(0, 250), st.integers(0, 60)).map(
    lambda p: (date(2022, 1, 1) + timedelta(days=p[0]), date(2022, 1, 1) + timedelta(days=p[0] + p[1]))
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=st.lists(DOSSIER, min_size=1, max_size=12), periods=st.lists(PERIOD, min_size=1, max_size=4))
# Received on Monday 3/1/2022, a day off (New Year moved), resolved the same hour: it is received
# and resolved on the next working day, not resolved in a period it was not received by.
@example(specs=[(0, 1, Channel.ONLINE, "resolve", 1)], periods=[(date(2022, 1, 1), date(2022, 1, 3))])
@example(specs=[(0, 1, Channel.ONLINE, "withdraw", 1)], periods=[(date(2022, 1, 3), date(2022, 1, 3))])
def test_every_dossier_in_scope_ends_the_period_in_exactly_one_column(specs, periods):
    histories = [history(i, spec) for i, spec in enumerate(specs)]
    for stats in asyncio.run(stats_for(histories, periods)):
        if stats is None:
            continue
        received, resolved, in_progress = stats["received"], stats["resolved"], stats["in_progress"]
        assert received["total"] == resolved["total"] + in_progress["total"] + stats["withdrawn"]
        assert received["total"] == (received["online"] + received["direct"] + received["postal"]
                                     + received["carried_over"])
        if resolved["total"]:
            assert 0 <= stats["on_time_rate"] <= 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=st.lists(DOSSIER, min_size=1, max_size=12), period=PERIOD)
def test_a_past_period_is_the_same_whatever_came_after_it(specs, period):
    """Stats for a period ending on `to` depend only on what happened by then."""
    histories = [history(i, spec) for i, spec in enumerate(specs)]
    end_of_to = datetime.combine(period[1] + timedelta(days=1), datetime.min.time(),
                                 tzinfo=UTC) - timedelta(hours=7)
    known = [[e for e in h if _when(e) < end_of_to] for h in histories]
    known = [h for h in known if h]
    full, = asyncio.run(stats_for(histories, [period]))
    past, = asyncio.run(stats_for(known, [period])) if known else (None,)
    assert full == past


def _when(event) -> datetime:
    return business_time(event)
