"""The gateway's OpenAPI document fuzzed with schemathesis against the running stack.

Every operation of /openapi.json gets requests generated from its schema, valid ones and
invalid ones (wrong types, missing fields, out-of-range values, odd headers), as admin, with
path ids both random and of real objects (so commands reach real aggregates). Whatever comes,
the API answers no 5xx, and every 4xx is an RFC 9457 problem document
(application/problem+json with its status and a title). Runs on SQLite and on PostgreSQL.
"""

import asyncio
import os
import re
import time
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from api_steps import one_of_each

pytestmark = pytest.mark.slow

# Per operation and generation mode: about 800 requests per database by default; a deeper
# run: CCHC_FUZZ_EXAMPLES=100 python3 dev.py test tests/test_openapi_fuzz.py
MAX_EXAMPLES = int(os.environ.get("CCHC_FUZZ_EXAMPLES", "8"))
REQUEST_TIMEOUT_S = 15


@pytest.fixture(scope="module")
async def real_ids(stack_api) -> dict[str, str]:
    """One object of each kind, for the path parameters of the fuzzed requests."""
    return await one_of_each(stack_api.admin)


def problem_in(response) -> str | None:
    """What is wrong with this answer, or None."""
    status = response.status_code
    if status >= 500:
        return f"server error {status}"
    if status < 400:
        return None
    media_type = (response.headers.get("content-type") or [""])[0].split(";")[0].strip()
    if media_type != "application/problem+json":
        return f"{status} as {media_type or 'no content type'}, not application/problem+json"
    try:
        body = response.json()
    except ValueError:
        return f"{status} problem document that is not JSON"
    if not isinstance(body, dict) or body.get("status") != status or not body.get("title"):
        return f"{status} problem document without its status and a title: {body!r:.200}"
    return None


def fuzz(raw_schema: dict, base_url: str, authorization: str, real_ids: dict) -> tuple:
    """Runs in a thread (the stack serves on the test's event loop); returns what went wrong."""
    schema = schemathesis.openapi.from_dict(raw_schema)
    failures: dict[tuple, str] = {}
    statuses: Counter = Counter()
    operations = [result.ok() for result in schema.get_all_operations()]

    def requests_of(operation, mode: GenerationMode, strategy):
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def send(case):
            response = case.call(base_url=base_url, headers={"Authorization": authorization},
                                 timeout=REQUEST_TIMEOUT_S)
            statuses[response.status_code] += 1
            wrong = problem_in(response)
            if wrong:
                failures.setdefault((operation.label, response.status_code), (
                    f"{operation.label} ({mode.value}): {wrong}\n"
                    f"    {case.method} {case.formatted_path} query={case.query!r} "
                    f"headers={case.headers!r} body={str(case.body)[:300]}\n"
                    f"    -> {response.text[:300]}"))

        return send

    for operation in operations:
        ids = {name: real_ids[name] for name in re.findall(r"{(\w+)}", operation.path)
               if name in real_ids}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(mode)
            if ids:
                strategy = st.one_of(strategy, operation.as_strategy(mode, path_parameters=ids))
            try:
                requests_of(operation, mode, strategy)()
            except Unsatisfiable:
                pass  # nothing invalid can be made of this operation (no parameters, no body)
            except Exception as error:  # noqa: BLE001 - a transport failure is a finding too
                failures[(operation.label, mode.value)] = (
                    f"{operation.label} ({mode.value}): {type(error).__name__}: {error}")
    return operations, failures, statuses


async def test_no_generated_request_gets_a_5xx_and_every_4xx_is_a_problem_document(
    stack_api, real_ids
):
    admin = stack_api.admin
    raw_schema = (await admin.get("/openapi.json")).json()
    started = time.monotonic()
    operations, failures, statuses = await asyncio.to_thread(
        fuzz, raw_schema, stack_api.base_url, admin.headers["Authorization"], real_ids)
    took = time.monotonic() - started
    assert len(operations) == sum(len(methods) for methods in raw_schema["paths"].values())
    assert not failures, f"{len(failures)} findings:\n" + "\n".join(failures.values())
    # The fuzzing reached past validation: commands were accepted, reads answered.
    assert statuses[200] and statuses[201] and statuses[422] and statuses[404], statuses
    assert MAX_EXAMPLES > 8 or took < 120, f"fuzzing took {took:.0f} s"


async def problem_of(answer, status: int) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    return answer.json()


async def test_what_the_fuzzing_found_stays_fixed(stack_api, real_ids):
    """Each was a 5xx (and the first ones wrote events no projection could apply)."""
    admin = stack_api.admin
    dossier, task = real_ids["dossier_id"], real_ids["task_id"]
    # Times at the ends of the calendar: now refused before anything is written.
    for moment in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-05:00"):
        body = {"procedure": "P", "channel": "online", "received_at": moment,
                "applicant": {"name": "A"}}
        found = await problem_of(await admin.post("/api/v1/dossiers", json=body), 422)
        assert "received_at" in str(found["errors"])
        await problem_of(await admin.post(f"/api/v1/dossiers/{dossier}/resolution", json={
            "resolved_at": moment, "outcome": "approved"}), 422)
        await problem_of(await admin.post(f"/api/v1/tasks/{task}/completion", json={
            "completed_at": moment, "evidence": "e"}), 422)
    # Log positions beyond the log (or beyond 64 bits): bad input, answered at once.
    await problem_of(await admin.get("/api/v1/events", params={"after": 10**27}), 422)
    started = time.monotonic()
    found = await problem_of(await admin.get(
        "/api/v1/agencies", headers={"X-Min-Position": str(10**12)}), 400)
    assert found["errors"][0]["field"] == "X-Min-Position"
    await problem_of(await admin.get(f"/api/v1/assessments/{real_ids['assessment_id']}",
                                     params={"dossier_position": 10**12}), 400)
    assert time.monotonic() - started < 3  # no read-your-writes wait for what never comes
    # Digits that are not decimal digits ("²" passes str.isdigit, not int()).
    await problem_of(await admin.get("/api/v1/agencies", headers={"X-Min-Position": b"\xb2"}), 400)
    await problem_of(await admin.get("/api/v1/events", headers={
        "Accept": "text/event-stream", "Last-Event-ID": b"\xb2"}), 400)
