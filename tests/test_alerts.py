"""Alerts: each agency's dossiers due today, due on the next working day, and overdue — read
through the API, recreated by a rebuild of their projection, and delivered on the live event
stream, by email to an SMTP server on loopback and to a webhook on loopback, on request and on
the working morning's schedule."""

import asyncio
import contextlib
import json
import time
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy

import nats
import pytest

from api_steps import act, agency_with_procedure, receive, register_agency, unique
from conftest import Api, start_stack, stop_stack
from cchc.contracts.dossier_commands import AlertsQuery
from cchc.contracts.localtime import LOCAL_TZ
from cchc.contracts.messages import CommandMeta, Principal, Request, Role
from cchc.dossier.alert_projection import DossierAlertsProjection
from cchc.dossier.alert_queries import AlertQueries
from cchc.dossier.projections import DossierReadModel
from cchc.runtime.eventstore import EventStore
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.sqldb import create_engine
from loopback_receivers import SmtpInbox, WebhookInbox

# Friday 15/7/2022; the next working day is Monday 18/7. 3 working days from receipt.
DAY = "2022-07-15"


async def _received(admin, procedure: str, at: str) -> str:
    answer = await receive(admin, procedure, f"{at}+07:00")
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


async def _ok(answer) -> dict:
    assert answer.status_code in (200, 201), answer.text
    return answer


async def a_week_of_deadlines(admin) -> tuple[str, dict[str, list[str]], str]:
    """(agency, the expected alerts of 15/7 by kind, the position of the last write)."""
    agency, procedure = await agency_with_procedure(admin, processing_days=3)
    due_today = await _received(admin, procedure, "2022-07-12T09:00:00")
    extended = await _received(admin, procedure, "2022-07-12T10:00:00")  # still due 15/7
    await _ok(await act(admin, extended, "extension", {
        "extended_at": "2022-07-14T09:00:00+07:00", "new_due_at": "2022-07-25T17:00:00+07:00",
        "reason": "xin lỗi"}))
    due_monday = await _received(admin, procedure, "2022-07-13T09:00:00")
    overdue = await _received(admin, procedure, "2022-07-04T09:00:00")
    await _received(admin, procedure, "2022-07-14T09:00:00")  # due Tuesday 19/7: no alert yet
    resolved = await _received(admin, procedure, "2022-07-12T11:00:00")
    await _ok(await act(admin, resolved, "resolution", {
        "resolved_at": "2022-07-13T09:00:00+07:00", "outcome": "approved"}))
    paused = await _received(admin, procedure, "2022-07-11T09:00:00")  # clock stopped
    await _ok(await act(admin, paused, "supplement-request", {
        "requested_at": "2022-07-12T09:00:00+07:00", "reason": "thiếu giấy tờ"}))
    restarted = await _received(admin, procedure, "2022-07-05T09:00:00")  # restarted: due 15/7
    await _ok(await act(admin, restarted, "supplement-request", {
        "requested_at": "2022-07-06T09:00:00+07:00", "reason": "thiếu giấy tờ"}))
    await _ok(await act(admin, restarted, "supplement", {
        "supplemented_at": "2022-07-12T14:00:00+07:00"}))
    withdrawn = await _received(admin, procedure, "2022-07-04T10:00:00")
    last = await _ok(await act(admin, withdrawn, "withdrawal", {
        "withdrawn_at": "2022-07-05T09:00:00+07:00", "reason": "công dân rút"}))
    expected = {"due_today": sorted([due_today, extended, restarted]),
                "due_tomorrow": [due_monday], "overdue": [overdue]}
    return agency, expected, last.headers["X-Event-Position"]


def ids(alerts: dict, kind: str) -> list[str]:
    return sorted(item["id"] for item in alerts[kind])


async def test_an_agency_reads_its_alerts_of_a_day(stack_api):
    admin = stack_api.admin
    agency, expected, position = await a_week_of_deadlines(admin)
    officer = stack_api.as_("officer", agency)

    answer = await officer.get(f"/api/v1/alerts?day={DAY}", headers={"X-Min-Position": position})
    assert answer.status_code == 200, answer.text
    alerts = answer.json()
    assert alerts["day"] == DAY and alerts["working_day"] is True
    assert alerts["next_working_day"] == "2022-07-18"
    assert [entry["agency"] for entry in alerts["agencies"]] == [agency]  # its own only
    mine = alerts["agencies"][0]
    for kind, wanted in expected.items():
        assert ids(mine, kind) == sorted(wanted), kind
    assert mine["count"] == alerts["count"] == 5
    item = next(i for i in mine["due_today"] if i["appointment_at"] is not None)
    assert item["due_at"] == "2022-07-15T17:00:00+07:00"
    assert item["appointment_at"] == "2022-07-25T17:00:00+07:00"
    assert item["applicant_name"] == "Nguyễn Văn An"
    assert item["procedure_name"].startswith("Thủ tục ")

    # The next Monday: what was due on Friday is overdue now, Tuesday's is due tomorrow.
    monday = (await officer.get(f"/api/v1/alerts?agency={agency}&day=2022-07-18")).json()
    entry = monday["agencies"][0]
    assert ids(entry, "overdue") == sorted(expected["overdue"] + expected["due_today"])
    assert ids(entry, "due_today") == expected["due_tomorrow"]
    assert len(entry["due_tomorrow"]) == 1
    saturday = (await officer.get(f"/api/v1/alerts?agency={agency}&day=2022-07-16")).json()
    assert saturday["working_day"] is False and saturday["next_working_day"] == "2022-07-18"

    other = stack_api.as_("officer", unique("SOTHER"))
    assert (await other.get(f"/api/v1/alerts?agency={agency}&day={DAY}")).status_code == 403
    theirs = (await other.get(f"/api/v1/alerts?day={DAY}")).json()
    assert all(entry["agency"] != agency for entry in theirs["agencies"])
    province = (await stack_api.as_("inspector").get(f"/api/v1/alerts?day={DAY}")).json()
    assert agency in {entry["agency"] for entry in province["agencies"]}


async def test_a_rebuild_recreates_the_alerts(stack_api, tmp_path):
    admin = stack_api.admin
    agency, expected, position = await a_week_of_deadlines(admin)
    live = (await admin.get(f"/api/v1/alerts?day={DAY}",
                            headers={"X-Min-Position": position})).json()

    nc = await nats.connect(stack_api.stack.nats_url_of("ops"))
    head = await EventStore(nc).last_position("dossier")
    engine = create_engine(f"sqlite:///{tmp_path / 'rebuilt.db'}")
    read_model = ProjectionRunner(nc, engine, DossierReadModel(), consumer_name="rebuild-read")
    alerts = ProjectionRunner(nc, engine, DossierAlertsProjection(), consumer_name="rebuild-alerts")
    for runner in (read_model, alerts):
        await runner.drop()
        assert await runner.catch_up() >= head
    meta = CommandMeta(principal=Principal(sub="t", role=Role.ADMIN), correlation_id="t")
    rebuilt = await AlertQueries(engine, alerts, read_model).alerts_of_day(
        Request[AlertsQuery](meta=meta, body={"day": DAY}))
    assert rebuilt.result == live
    mine = next(entry for entry in live["agencies"] if entry["agency"] == agency)
    assert ids(mine, "due_today") == expected["due_today"]
    await engine.dispose()
    await nc.close()


async def _read_sse_alerts(client, found: asyncio.Queue) -> None:
    async with client.stream("GET", "/api/v1/events?after=999999999",
                             headers={"Accept": "text/event-stream"}) as stream:
        event = None
        async for line in stream.aiter_lines():
            if line.startswith("event: "):
                event = line[len("event: "):]
            elif line.startswith("data: ") and event == "alerts":
                await found.put(json.loads(line[len("data: "):]))
            elif line == "":
                event = None


async def test_digests_reach_the_stream_email_and_webhook(tmp_path, monkeypatch):
    smtp, webhook = SmtpInbox(), WebhookInbox()
    smtp.start()
    webhook.start()
    # The morning run a few seconds after the start, today (declared a working day below).
    morning = datetime.now(LOCAL_TZ) + timedelta(seconds=14)
    env = {
        "CCHC_GATEWAY_ALERTS_SMTP_HOST": "127.0.0.1",
        "CCHC_GATEWAY_ALERTS_SMTP_PORT": str(smtp.port),
        "CCHC_GATEWAY_ALERTS_EMAIL_SENDER": "cchc@tinh.example.vn",
        "CCHC_GATEWAY_ALERTS_EMAIL_RECIPIENTS": json.dumps({"*": ["vanphong@so.example.vn"]}),
        "CCHC_GATEWAY_ALERTS_WEBHOOK_URL": webhook.url,
        "CCHC_GATEWAY_ALERTS_WEBHOOK_SECRET": "bí-mật",
        "CCHC_GATEWAY_ALERTS_TIME": morning.strftime("%H:%M:%S"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    from cchc.gateway.alerts import live as live_alerts

    monkeypatch.setattr(live_alerts, "ANSWER_WAIT_S", 3.0)  # the stack shares this test's loop
    stack, task, base_url = await start_stack(tmp_path / "stack")
    api = Api(base_url, stack.installation.jwt_secret())
    listening = None
    try:
        admin = api.admin
        agency, expected, position = await a_week_of_deadlines(admin)
        today = morning.date().isoformat()
        await _ok(await admin.post("/api/v1/calendar/days", json={
            "date": today, "kind": "working_day", "note": "ngày làm việc (kiểm thử)"}))
        officer = api.as_("officer", agency)
        found: asyncio.Queue = asyncio.Queue()
        listening = asyncio.create_task(_read_sse_alerts(officer, found))
        await asyncio.sleep(1.0)  # the stream is open

        # When asked: the digest of 15/7/2022 on every channel.
        answer = await admin.post("/api/v1/alerts/deliveries", json={"day": DAY},
                                  headers={"X-Min-Position": position})
        assert answer.status_code == 200, answer.text
        outcome = answer.json()
        assert outcome["delivered"] == [{"agency": agency, "count": 5, "streams": 1,
                                         "email": "sent", "webhook": "sent"}]
        live = await asyncio.wait_for(found.get(), 10)
        assert live["agency"] == agency and live["day"] == DAY and live["count"] == 5
        assert sorted(i["id"] for i in live["due_today"]) == expected["due_today"]

        posted = await webhook.next(10)
        assert posted.body == live  # the same digest
        assert webhook.signature_valid(posted, "bí-mật")

        mail = message_from_bytes(await smtp.next(10), policy=policy.default)
        assert mail["To"] == "vanphong@so.example.vn"
        assert mail["Subject"] == (f"[CCHC] Sở thử nghiệm {agency}: 5 hồ sơ cần chú ý ngày "
                                   "15/07/2022")
        text = mail.get_content()
        assert "Hồ sơ đã quá hạn giải quyết: 1" in text
        assert "Hồ sơ đến hạn giải quyết hôm nay: 3" in text
        assert "Hồ sơ đến hạn vào ngày làm việc tiếp theo: 1" in text
        for item in live["overdue"] + live["due_today"] + live["due_tomorrow"]:
            assert item["receipt_code"] and f"Hồ sơ {item['receipt_code']} — " in text

        # The working morning: today's digest (every 2022 deadline is overdue by now, the one
        # due on 19/7/2022 too).
        scheduled = await webhook.next(40)
        assert scheduled.body["day"] == today and scheduled.body["agency"] == agency
        assert scheduled.body["count"] == 6 and len(scheduled.body["overdue"]) == 6
        assert (await asyncio.wait_for(found.get(), 10))["day"] == today
        assert message_from_bytes(await smtp.next(10), policy=policy.default)["Subject"].endswith(
            morning.strftime("%d/%m/%Y"))
    finally:
        if listening is not None:
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listening
        await api.close()
        await stop_stack(stack, task)
        smtp.stop()
        webhook.stop()


@contextlib.asynccontextmanager
async def another_gateway_replica(stack_api):  # type: ignore[no-untyped-def]
    """A second gateway on the stack's NATS and settings, on an HTTP port of its own, as a load
    balancer would put beside the first."""
    import uvicorn

    from cchc.gateway.app import create_app
    from cchc.runtime.natsserver import free_port

    settings = stack_api.stack.server.config.app.state.gateway.settings
    app = create_app(settings.model_copy(update={"alerts_schedule": False}))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(),
                                           log_level="warning", lifespan="on"))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not serving.done(), "the second gateway did not start"
            await asyncio.sleep(0.05)
        api = Api(f"http://127.0.0.1:{server.config.port}", stack_api.secret)
        try:
            yield api
        finally:
            await api.close()
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 30)


async def test_a_digest_reaches_the_streams_open_on_every_gateway_replica(stack_api, monkeypatch):
    """Behind a load balancer an agency's dashboard may hold its live stream on any replica;
    the digest delivered through one reaches the streams of all, each once."""
    from cchc.gateway.alerts import live

    # Both replicas share this test's event loop with the whole stack: time enough to answer.
    monkeypatch.setattr(live, "ANSWER_WAIT_S", 3.0)
    admin = stack_api.admin
    agency, expected, position = await a_week_of_deadlines(admin)
    other = unique("SOTHER")
    await register_agency(admin, other)
    async with another_gateway_replica(stack_api) as second:
        on_first, on_second, not_theirs = asyncio.Queue(), asyncio.Queue(), asyncio.Queue()
        listening = [asyncio.create_task(_read_sse_alerts(client, found)) for client, found in (
            (stack_api.as_("officer", agency), on_first),
            (second.as_("officer", agency), on_second),
            (second.as_("officer", other), not_theirs))]
        try:
            await asyncio.sleep(1.0)  # the streams are open
            answer = await admin.post("/api/v1/alerts/deliveries",
                                      json={"agency": agency, "day": DAY},
                                      headers={"X-Min-Position": position})
            assert answer.status_code == 200, answer.text
            assert answer.json()["delivered"] == [{"agency": agency, "count": 5, "streams": 2,
                                                   "email": "not configured",
                                                   "webhook": "not configured"}]
            for found in (on_first, on_second):
                digest = await asyncio.wait_for(found.get(), 10)
                assert digest["agency"] == agency and digest["count"] == 5
                assert sorted(i["id"] for i in digest["due_today"]) == expected["due_today"]
            await asyncio.sleep(1.0)
            assert on_first.empty() and on_second.empty()  # once each
            assert not_theirs.empty()  # another agency's officer sees none of it
        finally:
            for task in listening:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


async def test_an_officer_delivers_only_its_own_digest(stack_api):
    admin = stack_api.admin
    agency, _, position = await a_week_of_deadlines(admin)
    other = unique("SOTHER")
    await register_agency(admin, other)
    officer = stack_api.as_("officer", agency)
    answer = await officer.post("/api/v1/alerts/deliveries", json={"day": DAY},
                                headers={"X-Min-Position": position})
    assert answer.status_code == 200, answer.text
    assert [d["agency"] for d in answer.json()["delivered"]] == [agency]
    assert answer.json()["delivered"][0]["email"] == "not configured"
    refused = await officer.post("/api/v1/alerts/deliveries", json={"agency": other, "day": DAY})
    assert refused.status_code == 403


async def _job_record(gateway, day):  # type: ignore[no-untyped-def]
    from cchc.gateway.alerts import morning_job

    record, _ = await gateway.idempotency.get_revision(morning_job.job_key(day))
    return morning_job.MorningJob.model_validate(record.body) if record else None


async def _left_by_a_stopped_replica(gateway, job) -> None:  # type: ignore[no-untyped-def]
    """``job`` as the record says it, held by a replica that stopped (its lease run out)."""
    from cchc.gateway.alerts import morning_job

    key = morning_job.job_key(job.day)
    _, revision = await gateway.idempotency.get_revision(key)
    stopped = job.model_copy(update={"by": "stopped-replica", "lease_until": time.time() - 1})
    assert await gateway.idempotency.replace(key, morning_job.job_record(stopped), revision)


async def test_one_gateway_replica_holds_each_morning_and_another_takes_over_when_it_stops(
        stack_api, monkeypatch):
    from cchc.gateway.alerts import morning_job

    gateway = stack_api.stack.server.config.app.state.gateway
    day = date(2099, 1, 2)
    held = await morning_job.hold(gateway, day, poll_s=0.05)
    assert held is not None and held.job.step == "deliver" and held.job.by == morning_job.REPLICA
    monkeypatch.setattr(morning_job, "REPLICA", "another-replica")
    with pytest.raises(TimeoutError):  # the other replica waits while the lease runs
        await asyncio.wait_for(morning_job.hold(gateway, day, poll_s=0.05), 0.5)
    await _left_by_a_stopped_replica(gateway, held.job)  # the first replica stops renewing
    took = await asyncio.wait_for(morning_job.hold(gateway, day, poll_s=0.05), 5)
    assert took is not None and took.job.by == "another-replica" and took.job.step == "deliver"
    assert not await held.store(held.job)  # the first replica, back: it is no longer its job
    assert await took.store(took.job.model_copy(update={"step": "done"}))
    assert await morning_job.hold(gateway, day, poll_s=0.05) is None  # done: nobody works on it


async def test_a_holder_renews_its_lease_while_it_works_and_stops_when_taken_over(
        stack_api, monkeypatch):
    from cchc.gateway.alerts import morning_job

    gateway = stack_api.stack.server.config.app.state.gateway
    day = date(2099, 1, 5)
    monkeypatch.setattr(morning_job, "LEASE_S", 0.6)
    held = await morning_job.hold(gateway, day, poll_s=0.05)
    assert held is not None
    first_lease = held.job.lease_until
    async with held.renewed():
        await asyncio.sleep(1.0)  # longer than the lease: renewed on the way
    assert (await _job_record(gateway, day)).lease_until > first_lease + 0.5
    assert (await _job_record(gateway, day)).by == morning_job.REPLICA

    async with held.renewed():
        await asyncio.sleep(0.1)
        await _left_by_a_stopped_replica(gateway, held.job)  # taken for stopped meanwhile
        await asyncio.sleep(0.5)  # a renewal comes and finds it taken over: no more renewals
    assert (await _job_record(gateway, day)).by == "stopped-replica"
    assert not await held.store(held.job.model_copy(update={"step": "done"}))  # not its own


@contextlib.contextmanager
def receivers(smtp_refusals: list[str], webhook_refusals: list[int]):  # type: ignore[no-untyped-def]
    """An SMTP server and a webhook receiver on loopback, each refusing its first deliveries
    with the answers given."""
    smtp, webhook = SmtpInbox(refusals=smtp_refusals), WebhookInbox(refusals=webhook_refusals)
    smtp.start()
    webhook.start()
    try:
        yield smtp, webhook
    finally:
        smtp.stop()
        webhook.stop()


async def _first_morning_pass(stack_api, monkeypatch, smtp: SmtpInbox, webhook: WebhookInbox):
    """The gateway pointed at the two receivers, and the digests of DAY sent once, as the
    morning run's first pass sends them."""
    from cchc.gateway.alerts import schedule
    from cchc.gateway.deps import QueryCall, parse_min_positions

    app = stack_api.stack.server.config.app
    gateway = app.state.gateway
    for name, value in {
        "alerts_smtp_host": "127.0.0.1", "alerts_smtp_port": smtp.port,
        "alerts_email_recipients": {"*": ["vanphong@so.example.vn"]},
        "alerts_webhook_url": webhook.url,
    }.items():
        monkeypatch.setattr(gateway.settings, name, value)
    agency, _, position = await a_week_of_deadlines(stack_api.admin)
    plain, by_context = parse_min_positions(position)
    call = QueryCall(caller=schedule.SCHEDULE_PRINCIPAL, correlation_id="morning",
                     min_position=plain, min_positions=by_context)
    sent = await schedule.send_digests(gateway, app.state.live_alerts, call, date(2022, 7, 15),
                                       agency, working_days_only=True)
    return schedule, gateway, app.state.live_alerts, agency, sent


async def _retries_left_by_a_stopped_replica(gateway, sent, delays: list[float]) -> None:  # type: ignore[no-untyped-def]
    """The morning job of 15/7/2022 after its first pass (``sent``), as the replica that made it
    left it when it stopped: its retries are another replica's to send."""
    from cchc.gateway.alerts import morning_job

    first = morning_job.MorningJob(day=date(2022, 7, 15), by=morning_job.REPLICA,
                                   lease_until=0.0, step="deliver")
    await _left_by_a_stopped_replica(
        gateway, morning_job.next_step(first, sent.to_retry, delays, time.time()))


async def test_a_digest_that_failed_for_a_passing_reason_is_sent_again_until_it_goes(
        stack_api, monkeypatch):
    """The webhook answers 503 twice, the SMTP server 451 once: each channel is sent again
    after the delays, alone, until it goes, and reaches its receiver once; by the replica that
    takes the morning over from the one that stopped after its first pass."""
    with receivers(["451 4.3.0 Thử lại sau"], [503, 503]) as (smtp, webhook):
        schedule, gateway, live, agency, sent = await _first_morning_pass(
            stack_api, monkeypatch, smtp, webhook)
        [outcome] = sent.answer["delivered"]
        assert outcome["email"].startswith("failed") and outcome["webhook"].startswith("failed")
        assert sent.to_retry == {(agency, "email"), (agency, "webhook")}

        await _retries_left_by_a_stopped_replica(gateway, sent, [0.1, 0.1, 0.1])
        await asyncio.wait_for(schedule.finish_morning(gateway, live, date(2022, 7, 15),
                                                       poll_s=0.05), 30)
        assert (await _job_record(gateway, date(2022, 7, 15))).step == "done"
        assert (smtp.refused, webhook.refused) == (1, 2)
        posted = await webhook.next(5)
        assert posted.body["agency"] == agency and posted.body["count"] == 5
        mail = message_from_bytes(await smtp.next(5), policy=policy.default)
        assert mail["To"] == "vanphong@so.example.vn"
        with pytest.raises(TimeoutError):  # once each, not once per try
            await webhook.next(1)
        with pytest.raises(TimeoutError):
            await smtp.next(0.1)


async def test_a_refusal_that_would_come_again_is_not_repeated(stack_api, monkeypatch):
    with receivers(["550 5.1.1 Không có hộp thư này"], [400, 400]) as (smtp, webhook):
        schedule, gateway, live, agency, sent = await _first_morning_pass(
            stack_api, monkeypatch, smtp, webhook)
        [outcome] = sent.answer["delivered"]
        assert "550" in outcome["email"] and "400" in outcome["webhook"]
        assert sent.to_retry == set()
        await _retries_left_by_a_stopped_replica(gateway, sent, [0.1])
        assert (await _job_record(gateway, date(2022, 7, 15))).step == "done"  # nothing left
        await asyncio.wait_for(schedule.finish_morning(gateway, live, date(2022, 7, 15),
                                                       poll_s=0.05), 30)
        assert (smtp.refused, webhook.refused) == (1, 1)


async def test_what_still_fails_after_the_last_delay_is_given_up(stack_api, monkeypatch):
    with receivers([], [503, 503, 503]) as (smtp, webhook):
        schedule, gateway, live, agency, sent = await _first_morning_pass(
            stack_api, monkeypatch, smtp, webhook)
        assert sent.to_retry == {(agency, "webhook")}  # the email went the first time
        await _retries_left_by_a_stopped_replica(gateway, sent, [0.1, 0.1])
        await asyncio.wait_for(schedule.finish_morning(gateway, live, date(2022, 7, 15),
                                                       poll_s=0.05), 30)
        job = await _job_record(gateway, date(2022, 7, 15))
        assert job.step == "done" and job.again == []
        assert webhook.refused == 3
        await smtp.next(5)
        with pytest.raises(TimeoutError):  # the email was not sent again with the webhook
            await smtp.next(1)


async def test_a_morning_cut_short_is_delivered_by_the_replica_that_takes_it_over(
        stack_api, monkeypatch):
    """A replica created the morning's job and stopped before it delivered (a rolling update
    at the morning's hour): another one delivers every digest of the day."""
    from cchc.gateway.alerts import morning_job, schedule

    with receivers([], []) as (smtp, webhook):
        _, gateway, live, agency, _ = await _first_morning_pass(
            stack_api, monkeypatch, smtp, webhook)
        await smtp.next(5)  # the first pass's, for this agency alone
        await webhook.next(5)
        day = date(2022, 7, 15)
        await _left_by_a_stopped_replica(gateway, morning_job.MorningJob(
            day=day, by="stopped-replica", lease_until=0.0, step="deliver"))
        await asyncio.wait_for(schedule.finish_morning(gateway, live, day, poll_s=0.05), 30)
        assert (await _job_record(gateway, day)).step == "done"
        agencies = set()
        with contextlib.suppress(TimeoutError):
            while True:
                agencies.add((await webhook.next(2)).body["agency"])
        assert agency in agencies  # every agency with alerts that day, this one among them
