"""Frameworks: bad ones are refused 422 with every field named and nothing written; only the
Department of Home Affairs (and admin) defines them; the templates are served as they load."""

import pytest
from cchc.contracts.messages import Principal, Role
from cchc.runtime.eventstore import EventStore
from cchc.scoring.aggregates import CONTEXT, framework_id


def broken(body: dict, how: str) -> dict:
    criteria = [dict(c) for c in body["criteria"]]
    if how == "points over max":
        criteria[0]["max_points"] = 15
    elif how == "band over its criterion":
        criteria[1]["bands"] = [{"min_rate": 0.9, "points": 5}]
    elif how == "unknown metric":
        criteria[1]["metric"] = "plan.happiness"
    elif how == "duplicate code":
        criteria[2]["code"] = criteria[1]["code"]
    elif how == "auto without bands":
        del criteria[1]["bands"]
    return {**body, "criteria": criteria}


@pytest.mark.parametrize(
    ("how", "fields"),
    [
        ("points over max", ["criteria"]),
        ("band over its criterion", ["criteria.1.bands.0.points"]),
        ("unknown metric", ["criteria.1.metric"]),
        ("duplicate code", ["criteria.2.code"]),
        ("auto without bands", ["criteria.1.bands"]),
    ],
)
async def test_a_bad_framework_is_422_on_its_field_and_nothing_is_written(
    call, nc, agency, framework_body, how, fields
):
    code = f"PAR-{agency}"
    reply = await call("define-framework", broken(framework_body(code), how))
    assert reply.problem.kind == "invalid"
    assert [e.field for e in reply.problem.errors] == fields
    assert not (await EventStore(nc).load(CONTEXT, framework_id(code))).exists


async def test_a_framework_with_a_percent_for_a_rate_is_422_from_its_type(call, agency, framework_body):
    body = framework_body(f"PAR-{agency}")
    body["criteria"][3] = {**body["criteria"][3], "threshold": -1}
    reply = await call("define-framework", body)
    assert reply.problem.kind == "invalid"
    assert [e.field for e in reply.problem.errors] == ["criteria.3.threshold"]


async def test_only_home_affairs_and_admin_define_frameworks_once(call, nc, agency, framework_body):
    code = f"PAR-{agency}"
    for role in (Role.OFFICER, Role.INSPECTOR):
        principal = Principal(sub="x", role=role, agency=agency if role is Role.OFFICER else None)
        refused = await call("define-framework", framework_body(code), principal=principal)
        assert refused.problem.kind == "forbidden"
    assert not (await EventStore(nc).load(CONTEXT, framework_id(code))).exists
    defined = await call.ok("define-framework", framework_body(code),
                            principal=Principal(sub="snv", role=Role.HOME_AFFAIRS))
    assert (defined.result["code"], defined.version) == (code, 1)
    again = await call("define-framework", framework_body(code))
    assert again.problem.kind == "conflict"
    read = await call.ok("get-framework", target=code, min_position=defined.position,
                         principal=Principal(sub="o", role=Role.OFFICER, agency="X"))
    assert read.result["criteria"][1]["bands"][2] == {"min_rate": 0.9, "points": 2}


async def test_a_retried_definition_under_the_same_key_answers_the_first_answer(
    call, nc, agency, framework_body
):
    code = f"PAR-{agency}"
    first = await call.ok("define-framework", framework_body(code), key=f"k-{agency}")
    again = await call.ok("define-framework", framework_body(code), key=f"k-{agency}")
    assert again.position == first.position
    assert (await EventStore(nc).load(CONTEXT, framework_id(code))).version == 1


async def test_the_templates_are_served_and_the_api_accepts_them(call, agency):
    templates = (await call.ok("framework-templates")).result["items"]
    assert {t["index"] for t in templates} == {"PAR", "SIPAS", "SERVICE"}
    for template in templates:
        own = {**template, "code": f"{template['code']}-{agency}", "template": False}
        await call.ok("define-framework", own)
