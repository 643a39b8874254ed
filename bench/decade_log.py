"""The events of a province over several years, as the EventStore would store them (bench/decade.py).

Every aggregate's events are real envelopes of the contracts' event types, hash-chained
(``prev_hash``/``hash``) as ``EventEnvelope.sealed`` does, serialised as ``EventEnvelope.to_bytes``
does, with the headers ``EventStore.append`` sends. The envelopes are made here without pydantic
(too slow for 10M events on one core); ``verify`` re-reads a sample through the contracts'
pydantic models, and decade.py's ``--check`` compares stored messages with ones appended by
``EventStore.append`` itself.

Proportions (chosen, not measured from a real province):
- 20 agencies (12 departments, 8 districts), 10 procedures each (5 to 20 working days).
- Dossiers received in office hours every day at a steady rate (``DOSSIERS_A_YEAR`` a year), each
  with 3 to 5 events, 4.0 on average:
  30 % received, resolved, result returned (3 events);
  25 % received, extended, resolved (late), result returned (4);
  15 % received, supplement requested, supplemented, resolved (4; result not yet returned);
  30 % received, supplement requested, supplemented, resolved, result returned (5).
  5 % of the resolutions are rejections (with a reason); the rest approved, early or on time.
- Per agency and year: the annual plan (PlanIssued) and 40 tasks, each added, reported three
  times (25/50/75 %), and completed (85 %, 1 in 8 late), rescheduled and completed (10 %), or
  cancelled (5 %): about 200 planning events per agency-year.
- No scoring events (the indexes are a few hundred events a year: nothing next to dossiers).
"""

import hashlib
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import uuid_utils

from cchc.contracts.envelope import GENESIS_HASH, EventEnvelope
from cchc.contracts.events import event_model
from cchc.contracts.subjects import EVENT_TYPE_HEADER, aggregate_subjects, event_subject

AGENCIES = [(f"S{i:02d}", "department") for i in range(1, 13)] + [
    (f"H{i:02d}", "district") for i in range(1, 9)]
PROCEDURES_PER_AGENCY = 10
DOSSIERS_A_YEAR = 1_000_000
START = datetime(2022, 1, 3, tzinfo=UTC)  # a Monday
TASKS_PER_PLAN = 40
OFFICE_S = 9 * 3600  # 08:00-17:00 local = 01:00-10:00 UTC
LIVES = (  # (share in 20ths, event types after DossierReceived)
    (6, ("DossierResolved", "ResultReturned")),
    (5, ("DossierExtended", "DossierResolved", "ResultReturned")),
    (3, ("SupplementRequested", "DossierSupplemented", "DossierResolved")),
    (6, ("SupplementRequested", "DossierSupplemented", "DossierResolved", "ResultReturned")),
)
LIFE_OF = [life for share, life in LIVES for _ in range(share)]
NAMESPACE = uuid.UUID("0b7e4c1e-5d0a-4f43-9c51-1f8d3a6e2b90")
SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Võ", "Đặng", "Bùi", "Đỗ")
GIVEN = ("Văn An", "Thị Bình", "Minh Châu", "Quốc Dũng", "Thu Hà", "Đức Huy", "Ngọc Lan")
AREAS = ("direction", "institutions", "procedures", "apparatus", "civil_service",
         "public_finance", "digital_government")


def iso(moment: datetime) -> str:
    """An aware UTC datetime as pydantic serialises it."""
    return moment.isoformat().replace("+00:00", "Z")


def canonical(value: object) -> bytes:  # cchc.contracts.envelope.canonical_json
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def compact(value: object) -> str:  # pydantic's model_dump_json layout
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass
class Event:
    type: str
    schema_version: int
    occurred_at: datetime
    payload: dict


@dataclass
class Stored:
    """One message as EventStore.append publishes it."""

    subject: str
    headers: dict[str, str]
    body: bytes
    first: bool  # the aggregate's first event (its headers expect the id free everywhere)


class Aggregate:
    """One aggregate's events, sealed in order; ``messages(last_seq)`` is driven by the
    publisher, which knows the previous event's stream sequence only once it is acknowledged."""

    __slots__ = ("context", "agency", "aggregate_id", "events", "actor", "rng_seed", "_sealed")

    def __init__(self, context: str, agency: str, aggregate_id: str, events: list[Event],
                 actor: str, rng_seed: int) -> None:
        self.context, self.agency, self.aggregate_id = context, agency, aggregate_id
        self.events, self.actor, self.rng_seed = events, actor, rng_seed
        self._sealed: list[tuple[str, bytes, str]] | None = None

    def sealed(self) -> list[tuple[str, bytes, str]]:
        """(event type, body, hash) of each event, chained from the genesis hash (made once:
        the event and correlation ids are new UUIDs, as EventStore.append makes them)."""
        if self._sealed is None:
            self._sealed = self._seal()
        return self._sealed

    def _seal(self) -> list[tuple[str, bytes, str]]:
        out = []
        prev = GENESIS_HASH
        rng = random.Random(self.rng_seed)
        for version, event in enumerate(self.events, 1):
            recorded = event.occurred_at + timedelta(seconds=rng.randint(1, 90),
                                                     microseconds=rng.randint(1, 999_999))
            fields = {
                "event_id": str(uuid_utils.uuid7()),  # as new_id(): the time of writing
                "type": event.type, "schema_version": event.schema_version,
                "context": self.context, "agency": self.agency,
                "aggregate_id": self.aggregate_id, "aggregate_version": version,
                "occurred_at": iso(event.occurred_at), "recorded_at": iso(recorded),
                "actor": self.actor, "correlation_id": str(uuid_utils.uuid4()),
                "causation_id": None, "payload": event.payload, "prev_hash": prev,
            }
            digest = hashlib.sha256(prev.encode() + canonical(fields)).hexdigest()
            fields["hash"] = digest
            out.append((event.type, compact(fields).encode(), digest))
            prev = digest
        return out

    def stored(self) -> Iterator[tuple[Stored, str]]:
        """The messages in order, with their event ids; the expected sequence header is filled
        in by the publisher (the previous event's acknowledged sequence, 0 for the first)."""
        subject = event_subject(self.context, self.agency, self.aggregate_id)
        for version, (event_type, body, _) in enumerate(self.sealed(), 1):
            event_id = body[13:49].decode()  # {"event_id":"<36 chars>"
            headers = {"Nats-Msg-Id": event_id, "Nats-Expected-Last-Subject-Sequence": "",
                       EVENT_TYPE_HEADER: event_type}
            if version == 1:
                headers["Nats-Expected-Last-Subject-Sequence-Subject"] = aggregate_subjects(
                    self.context, self.aggregate_id)
            headers["Nats-Expected-Stream"] = self.context.upper()  # nats-py's js.publish adds it
            yield Stored(subject, headers, body, version == 1), event_id


def verify(aggregate: Aggregate) -> None:
    """The envelopes read back through the contracts: the same bytes, a valid chain, and every
    payload exactly what its event model would dump."""
    prev = GENESIS_HASH
    for _, body, digest in aggregate.sealed():
        envelope = EventEnvelope.model_validate_json(body)
        assert envelope.to_bytes() == body, body
        assert envelope.prev_hash == prev and envelope.compute_hash() == digest == envelope.hash
        model = event_model(envelope.type)
        assert model.schema_version == envelope.schema_version, envelope.type
        dumped = model.model_validate(envelope.payload).model_dump(mode="json")
        assert dumped == envelope.payload and list(dumped) == list(envelope.payload), envelope.type
        prev = digest


def _id(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(map(str, parts))))


def procedure_code(agency: int, k: int) -> str:
    return f"1.{agency * 100 + k:06d}.000.00.00.H26"


def reference() -> list[Aggregate]:
    """The agencies and their procedures (dossier context)."""
    from cchc.runtime.ids import derived_id

    out = []
    for number, (code, group) in enumerate(AGENCIES):
        at = START - timedelta(days=30)
        name = f"{'Sở' if group == 'department' else 'UBND huyện'} số {number + 1}"
        out.append(Aggregate("dossier", code, f"agency-{code}", [Event(
            "AgencyRegistered", 1, at, {"code": code, "name": name, "group": group})],
            "admin", number))
        for k in range(PROCEDURES_PER_AGENCY):
            pcode = procedure_code(number, k)
            out.append(Aggregate("dossier", code, derived_id("procedure", pcode), [Event(
                "ProcedurePublished", 1, at, {
                    "code": pcode, "name": f"Thủ tục {k + 1} của {name}", "agency": code,
                    "field": f"Lĩnh vực {k % 4 + 1}", "processing_days": 5 + (k * 5) % 16,
                    "online_level": ("full", "partial", "none")[k % 3],
                    "published_at": iso(at), "published_on": (at.date()).isoformat()})],
                "admin", 1000 + number * 100 + k))
    return out


def dossier(i: int) -> Aggregate:
    """Dossier number ``i``: received at a steady rate, DOSSIERS_A_YEAR a year, in office
    hours."""
    per_day = DOSSIERS_A_YEAR / 365
    day, rest = divmod(i, per_day)
    received = START + timedelta(days=int(day), seconds=3600 + int(rest / per_day * OFFICE_S))
    rng = random.Random(i)
    number = rng.randrange(len(AGENCIES))
    agency = AGENCIES[number][0]
    k = rng.randrange(PROCEDURES_PER_AGENCY)
    days = 5 + (k * 5) % 16
    due = received + timedelta(days=days * 7 // 5)  # working days, about
    dossier_id = _id("dossier", i)
    officer = f"officer-{agency}-{rng.randrange(6)}"
    events = [Event("DossierReceived", 1, received, {
        "dossier_id": dossier_id, "agency": agency, "procedure": procedure_code(number, k),
        "channel": ("online", "online", "direct", "direct", "postal")[rng.randrange(5)],
        "received_at": iso(received), "receipt_day": received.date().isoformat(),
        "processing_days": days, "due_at": iso(due),
        "applicant": {"name": f"{SURNAMES[rng.randrange(10)]} {GIVEN[rng.randrange(7)]}",
                      "id_number": f"0{rng.randrange(10**11):011d}",
                      "phone": f"09{rng.randrange(10**8):08d}"}})]
    at = received
    due_766 = requested = due  # Decision 766's due time: the stop added, not the time restarted
    for event_type in LIFE_OF[i % len(LIFE_OF)]:
        at = at + timedelta(days=rng.randint(1, max(1, days // 3)), seconds=rng.randint(0, 3600))
        if event_type == "DossierExtended":
            events.append(Event(event_type, 1, at, {
                "extended_at": iso(at), "new_due_at": iso(due + timedelta(days=5)),
                "reason": "Cần xác minh thêm thông tin với cơ quan liên quan"}))
        elif event_type == "SupplementRequested":
            requested = at
            events.append(Event(event_type, 2, at, {
                "requested_at": iso(at), "reason": "Bổ sung bản sao giấy tờ tùy thân",
                "irregular": (at - received).days > 4}))
        elif event_type == "DossierSupplemented":
            due = at + timedelta(days=days * 7 // 5)
            due_766 = min(due, due_766 + (at - requested))
            events.append(Event(event_type, 2, at, {
                "supplemented_at": iso(at), "restart_day": at.date().isoformat(),
                "due_at": iso(due), "due_at_766": iso(due_766)}))
        elif event_type == "DossierResolved":
            extended = "DossierExtended" in LIFE_OF[i % len(LIFE_OF)]
            at = max(at, due + timedelta(days=2)) if extended else min(at, due)
            rejected = rng.randrange(20) == 0
            events.append(Event(event_type, 3, at, {
                "resolved_at": iso(at), "outcome": "rejected" if rejected else "approved",
                "due_at": iso(due),
                "timeliness": "late" if extended else ("early" if at.date() < due.date()
                                                       else "on_time"),
                "reason": "Hồ sơ không đủ điều kiện theo quy định" if rejected else "",
                "timeliness_766": "late" if extended or at.date() > due_766.date() else (
                    "early" if at.date() < due_766.date() else "on_time")}))
        else:  # ResultReturned
            events.append(Event(event_type, 1, at, {"returned_at": iso(at)}))
    return Aggregate("dossier", agency, dossier_id, events, officer, i)


def planning(years: int) -> list[Aggregate]:
    """Each agency's annual plan and its tasks, for ``years`` years from START."""
    from cchc.runtime.ids import derived_id

    out = []
    for year in range(START.year, START.year + years):
        for number, (agency, _) in enumerate(AGENCIES):
            rng = random.Random(year * 100 + number)
            plan_id = derived_id("plan", agency, str(year))
            issued = datetime(year, 1, 5, 2, tzinfo=UTC)
            actor = f"planner-{agency}"
            out.append(Aggregate("planning", agency, plan_id, [Event("PlanIssued", 1, issued, {
                "plan_id": plan_id, "agency": agency, "year": year,
                "title": f"Kế hoạch cải cách hành chính năm {year}", "issued_at": iso(issued)})],
                actor, rng.randrange(10**9)))
            for t in range(TASKS_PER_PLAN):
                task_id = _id("task", agency, year, t)
                added = issued + timedelta(days=rng.randint(0, 20), hours=rng.randint(0, 7))
                due_date = datetime(year, 3 + t % 10, 28, tzinfo=UTC)
                events = [Event("TaskAdded", 1, added, {
                    "task_id": task_id, "plan_id": plan_id, "agency": agency, "year": year,
                    "title": f"Nhiệm vụ {t + 1}: {AREAS[t % 7]}", "area": AREAS[t % 7],
                    "due_date": due_date.date().isoformat(), "owner": f"Phòng {t % 5 + 1}",
                    "added_at": iso(added), "finding_id": None})]
                fate = rng.randrange(20)
                span = (due_date - added).days
                at = added
                if fate == 0:
                    at = added + timedelta(days=span // 2)
                    events.append(Event("TaskCancelled", 1, at, {
                        "cancelled_at": iso(at), "reason": "Không còn phù hợp"}))
                    out.append(Aggregate("planning", agency, task_id, events, actor, t))
                    continue
                for percent in (25, 50, 75):
                    at = added + timedelta(days=span * percent // 100)
                    events.append(Event("TaskProgressReported", 1, at, {
                        "reported_at": iso(at), "percent": percent,
                        "note": f"Đã thực hiện {percent}%"}))
                if fate in (1, 2):
                    due_date = due_date + timedelta(days=30)
                    events.append(Event("TaskRescheduled", 1, at, {
                        "rescheduled_at": iso(at), "new_due_date": due_date.date().isoformat(),
                        "reason": "Chờ hướng dẫn của cấp trên"}))
                late = rng.randrange(8) == 0
                at = due_date + timedelta(days=rng.randint(1, 20) if late else -rng.randint(1, 20))
                events.append(Event("TaskCompleted", 1, at, {
                    "completed_at": iso(at), "due_date": due_date.date().isoformat(),
                    "on_time": not late, "evidence": [f"Báo cáo số {t + 1}/{year}"]}))
                out.append(Aggregate("planning", agency, task_id, events, actor, t))
    return out


def dossiers_for(events: int, planning_events: int, reference_events: int) -> int:
    """How many dossiers make ``events`` in all (4.0 events each on average)."""
    return max(1, (events - planning_events - reference_events) // 4)


def average_events() -> float:
    return sum(share * (1 + len(life)) for share, life in LIVES) / sum(s for s, _ in LIVES)
