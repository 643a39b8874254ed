"""The answer models: shapes described, never reshaped (the live check is
tests/test_answer_models_match.py, against the running stack)."""

import datetime
import typing

import pytest
from pydantic import BaseModel

from cchc.contracts import dossier_commands, scoring_commands
from cchc.contracts import dossier_views as d
from cchc.contracts import gateway_views as g
from cchc.contracts import planning_views as p
from cchc.contracts.answers import ANSWERS
from cchc.contracts.envelope import EventEnvelope
from cchc.contracts.pages import OMISSIBLE, Answer, Page

GATEWAY = [g.AgencyReport, g.ChainAudit, g.Health, g.HealthUnavailable, g.CallerView, g.EventPage]


def answer_models() -> set[type[BaseModel]]:
    """Every answer model, nested ones included (not the event envelope: an event's model)."""
    found: set[type[BaseModel]] = set()
    todo = [*ANSWERS.values(), *GATEWAY]
    while todo:
        model = todo.pop()
        if model in found or model is EventEnvelope:
            continue
        found.add(model)
        for field in model.model_fields.values():
            todo += [t for t in _types_in(field.annotation)
                     if isinstance(t, type) and issubclass(t, BaseModel)]
    return found


def _types_in(annotation: object) -> list[object]:
    args = typing.get_args(annotation)
    return [annotation, *(t for arg in args for t in _types_in(arg))]


def test_answers_name_every_endpoint_of_the_contracts_tables_but_health():
    for module in (dossier_commands, scoring_commands):
        names = {*module.COMMAND_ENDPOINTS, *module.QUERY_ENDPOINTS}
        assert names - {e for s, e in ANSWERS if s == module.SERVICE} == set()
    assert {s for s, _ in ANSWERS} == {"dossier", "planning", "scoring"}
    assert not [key for key in ANSWERS if key[1] == "health"]


@pytest.mark.parametrize("model", sorted(answer_models(), key=lambda m: m.__name__),
                         ids=lambda m: m.__name__)
def test_each_model_lets_later_fields_through_and_keeps_times_as_strings(model):
    assert issubclass(model, Answer)
    assert model.model_config.get("extra") == "allow"
    for name, field in model.model_fields.items():
        assert field.description, f"{model.__name__}.{name} has no description"
        kinds = _types_in(field.annotation)
        assert datetime.datetime not in kinds and datetime.date not in kinds, name


@pytest.mark.parametrize("model", sorted(answer_models(), key=lambda m: m.__name__),
                         ids=lambda m: m.__name__)
def test_the_openapi_schema_of_an_answer_lists_its_fields(model):
    schema = model.model_json_schema(mode="serialization")
    properties = schema.get("properties", {})
    aliases = {f.serialization_alias or f.alias or n for n, f in model.model_fields.items()}
    assert set(properties) == aliases
    omitted = {n for n, prop in properties.items() if prop.get(OMISSIBLE)}
    assert not omitted & set(schema.get("required", []))


TASK = {
    "id": "t1", "plan_id": "p1", "agency": "STP", "year": 2022, "title": "Nhiệm vụ",
    "area": "direction", "due_date": "2022-12-31", "owner": "VP", "status": "completed",
    "percent": 100, "added_at": "2022-01-05T02:00:00+00:00",
    "completed_at": "2022-06-01T09:00:00+07:00", "on_time": True, "cancelled_at": None,
    "finding_id": None, "version": 2,
}
COUNTS = {
    "received": {"total": 3, "online": 1, "direct": 1, "postal": 0, "carried_over": 1},
    "resolved": {"total": 2, "early": 1, "on_time": 0, "late": 1},
    "in_progress": {"total": 1, "not_due": 0, "overdue": 1},
    "withdrawn": 0, "on_time_rate": 0.5,
}


@pytest.mark.parametrize(("model", "answer"), [
    (p.TaskSummary, TASK),
    (p.TaskSummary, {**TASK, "later_field": {"x": 1}}),
    (d.DossierStats, {"agency": "STP", "from": "2022-01-01", "to": "2022-12-31", **COUNTS}),
    (d.DossierStats, {"agency": None, "from": "2022-01-01", "to": "2022-12-31", **COUNTS,
                      "by_agency": {"STP": COUNTS}}),
    (d.PublishedProcedure, {"code": "1.1", "name": "TT", "agency": "STP", "field": "Y tế",
                            "processing_days": 5, "online_level": "full",
                            "published_at": "2022-01-10T02:00:00Z"}),
    (g.ReportPlan, {"plan_id": None, "total": 0, "completed": 0, "cancelled": 0, "overdue": 0,
                    "completion_rate": None}),
    (Page[p.TaskSummary], {"items": [TASK], "next_cursor": "abc"}),
])
def test_an_answer_is_dumped_as_it_came(model, answer):
    assert model.model_validate(answer).model_dump(mode="json") == answer


def test_an_omissible_field_that_came_as_null_stays_null():
    plan = {"plan_id": "p", "total": 1, "completed": 0, "completed_on_time": None,
            "completed_late": 0, "in_progress": 1, "overdue": 0, "cancelled": 0,
            "completion_rate": 0.0}
    assert g.ReportPlan.model_validate(plan).model_dump(mode="json") == plan


def test_the_stats_period_travels_as_from_and_to():
    stats = d.DossierStats.model_validate(
        {"agency": "STP", "from": "2022-01-01", "to": "2022-12-31", **COUNTS})
    assert stats.from_ == "2022-01-01"
    assert '"from":"2022-01-01"' in stats.model_dump_json()
