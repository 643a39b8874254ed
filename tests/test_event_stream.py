"""The events feed as Server-Sent Events, and the AsyncAPI document, on the running stack."""

import asyncio
import json

import httpx

from api_steps import act, agency_with_procedure, receive
from cchc.contracts import decode_event
from cchc.contracts.asyncapi import asyncapi_document
from cchc.contracts.envelope import EventEnvelope

SSE = {"Accept": "text/event-stream"}


class EventStream:
    """An open SSE response, read event by event: (fields of the event, e.g. id and data)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.aiter_lines()
        self.comments: list[str] = []

    async def next(self, timeout: float = 15) -> dict[str, str]:
        async def read() -> dict[str, str]:
            fields: dict[str, str] = {}
            async for line in self.lines:
                if not line:
                    if fields:
                        return fields
                    continue
                if line.startswith(":"):
                    self.comments.append(line)
                    continue
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
            raise AssertionError("the stream ended")

        return await asyncio.wait_for(read(), timeout)

    async def envelope(self) -> tuple[int, EventEnvelope]:
        """The next event that carries an envelope (skipping the retry advice)."""
        while True:
            fields = await self.next()
            if "data" in fields:
                return int(fields["id"]), EventEnvelope.model_validate_json(fields["data"])


async def test_a_received_dossier_arrives_live_on_the_stream_of_its_agency(stack_api):
    admin = stack_api.admin
    agency, procedure = await agency_with_procedure(admin)
    other, other_procedure = await agency_with_procedure(admin)
    officer = stack_api.as_(role="officer", agency=agency)

    # Without Accept: text/event-stream the feed is the JSON page it always was.
    page = (await officer.get("/api/v1/events", params={"limit": 500})).json()
    assert [e["type"] for e in page["items"]] == ["AgencyRegistered", "ProcedurePublished"]
    seen = page["next_cursor"]
    async with officer.stream("GET", "/api/v1/events", params={"after": seen},
                              headers=SSE) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = EventStream(response)
        assert (await stream.next()) == {"retry": "1000"}

        # Another agency's dossier first, then its own: only its own comes.
        assert (await receive(admin, other_procedure, "2024-03-04T09:00:00+07:00")).status_code == 201
        answer = await receive(admin, procedure, "2024-03-04T09:30:00+07:00")
        assert answer.status_code == 201, answer.text
        dossier = answer.json()
        position, envelope = await stream.envelope()
        assert position == int(answer.headers["X-Event-Position"]) == envelope.position
        assert (envelope.type, envelope.agency, envelope.aggregate_id) == (
            "DossierReceived", agency, dossier["id"])
        event = decode_event(envelope.type, envelope.schema_version, envelope.payload)
        assert event.procedure == procedure  # type: ignore[attr-defined]

    # A reconnecting EventSource sends Last-Event-ID: the stream goes on after it, not before.
    resolved = await act(admin, dossier["id"], "resolution",
                         {"resolved_at": "2024-03-05T10:00:00+07:00", "outcome": "approved"})
    assert resolved.status_code == 200, resolved.text
    async with officer.stream("GET", "/api/v1/events", params={"after": 0},
                              headers={**SSE, "Last-Event-ID": str(position)}) as response:
        next_position, envelope = await EventStream(response).envelope()
    assert next_position == int(resolved.headers["X-Event-Position"])
    assert (envelope.type, envelope.schema_version) == ("DossierResolved", 2)

    # Everything the inspector may read, in log order, from the same position.
    inspector = stack_api.as_(role="inspector")
    async with inspector.stream("GET", "/api/v1/events", params={"after": seen},
                                headers=SSE) as response:
        stream = EventStream(response)
        dossier_events = []
        while not dossier_events or dossier_events[-1][0] != "DossierResolved":
            _, envelope = await stream.envelope()
            if envelope.type.startswith("Dossier"):
                dossier_events.append((envelope.type, envelope.agency))
    assert dossier_events == [("DossierReceived", other), ("DossierReceived", agency),
                              ("DossierResolved", agency)]


async def test_the_stream_keeps_the_feeds_permissions_and_header_rules(stack_api):
    anonymous = await stack_api.admin.get("/api/v1/events", headers={**SSE, "Authorization": ""})
    assert anonymous.status_code == 401
    bad = await stack_api.admin.get("/api/v1/events", headers={**SSE, "Last-Event-ID": "abc"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "Last-Event-ID"


async def test_the_gateway_serves_the_asyncapi_document(stack_api):
    expected = json.loads(json.dumps(asyncapi_document()))
    # The gateway adds the installation's public signing keys (signed history, issue 14).
    expected["info"]["x-cchc-signing-keys"] = [
        key.model_dump(mode="json") for key in stack_api.stack.installation.keyring().keys]
    assert expected["info"]["x-cchc-signing-keys"]
    async with httpx.AsyncClient(base_url=stack_api.base_url) as anonymous:
        for path in ("/asyncapi", "/asyncapi.json"):
            answer = await anonymous.get(path)
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("application/json")
            assert answer.json() == expected
    assert answer.json()["asyncapi"] == "3.0.0"
    assert "DossierReceived" in answer.json()["channels"]
