"""A framework is refused, with the field named, when its points or rules cannot work."""

import json

import pytest
from cchc.contracts.scoring_commands import DefineFramework
from cchc.scoring.domain.frameworks import framework_problems
from cchc.scoring.templates import FRAMEWORK_DIR, TemplateError, framework_templates, load_template


def framework(*criteria: dict, max_score: float = 10) -> DefineFramework:
    return DefineFramework.model_validate({
        "code": "PAR-TEST", "index": "PAR", "year": 2022, "group": "department",
        "max_score": max_score, "criteria": list(criteria),
    })


def manual(code: str = "1.1", points: float = 2) -> dict:
    return {"code": code, "title": "Tiêu chí", "area": "direction", "max_points": points,
            "method": "manual"}


def auto(code: str = "1.2", points: float = 2, **rule) -> dict:
    body = {"code": code, "title": "Mức độ thực hiện kế hoạch", "area": "direction",
            "max_points": points, "method": "auto", "metric": "plan.completion_rate"}
    return {**body, **rule}


PLAN_BANDS = [{"min_rate": 0, "points": 0}, {"min_rate": 0.7, "points": 1},
              {"min_rate": 0.9, "points": 2}]


def fields(problems) -> list[str]:  # type: ignore[no-untyped-def]
    return [field for field, _ in problems]


def test_a_sound_framework_has_no_problems():
    assert framework_problems(framework(manual(), auto(bands=PLAN_BANDS))) == []


def test_criteria_adding_up_over_max_score_are_refused_on_criteria():
    assert fields(framework_problems(framework(manual("1", 6), manual("2", 5)))) == ["criteria"]


def test_criteria_adding_up_exactly_with_decimals_pass():
    parts = [manual(str(i), 0.1) for i in range(10)]
    assert framework_problems(framework(*parts, max_score=1)) == []


def test_a_band_over_its_criterion_max_is_refused_on_that_band():
    bands = [{"min_rate": 0, "points": 0}, {"min_rate": 0.9, "points": 3}]
    assert fields(framework_problems(framework(auto(bands=bands)))) == ["criteria.0.bands.1.points"]


def test_an_unknown_metric_is_refused_on_metric():
    problems = framework_problems(framework(auto(bands=PLAN_BANDS, metric="plan.happiness")))
    assert fields(problems) == ["criteria.0.metric"]


def test_duplicate_criterion_codes_are_refused_on_the_second_code():
    problems = framework_problems(framework(manual("1.1", 1), manual("1.1", 1)))
    assert fields(problems) == ["criteria.1.code"]


def test_an_auto_criterion_needs_a_metric_and_a_rule():
    no_metric = auto(bands=PLAN_BANDS)
    del no_metric["metric"]
    assert fields(framework_problems(framework(no_metric))) == ["criteria.0.metric"]
    assert fields(framework_problems(framework(auto()))) == ["criteria.0.bands"]
    both = auto(bands=PLAN_BANDS, threshold=0.8)
    assert fields(framework_problems(framework(both))) == ["criteria.0.threshold"]


def test_rates_are_fractions_not_percents():
    assert fields(framework_problems(framework(auto(threshold=80)))) == ["criteria.0.threshold"]
    bands = [{"min_rate": 90, "points": 2}]
    assert fields(framework_problems(framework(auto(bands=bands)))) == ["criteria.0.bands.0.min_rate"]


def test_a_manual_criterion_carries_no_metric():
    assert fields(framework_problems(framework({**manual(), "metric": "plan.completion_rate"}))) == [
        "criteria.0.metric"
    ]


def test_every_problem_is_listed_at_once():
    bad = [manual("1", 8), manual("1", 3), auto("2", 1, metric="x", bands=PLAN_BANDS)]
    assert fields(framework_problems(framework(*bad))) == [
        "criteria", "criteria.1.code", "criteria.2.metric"
    ]


def test_the_province_starts_from_par_sipas_and_766_templates():
    templates = {t.index.value: t for t in framework_templates()}
    assert set(templates) == {"PAR", "SIPAS", "SERVICE"}
    assert all(t.template and t.note for t in templates.values())
    par_areas = {c.area for c in templates["PAR"].criteria}
    assert len(par_areas) == 8
    assert len({c.area for c in templates["SIPAS"].criteria}) == 5
    groups: dict[str, float] = {}
    for c in templates["SERVICE"].criteria:
        groups[c.area] = groups.get(c.area, 0) + c.max_points
    assert groups == {"publicity": 18, "progress": 20, "digitisation": 22,
                      "online_service": 22, "satisfaction": 18}
    thresholds = {c.metric: c.threshold for c in templates["SERVICE"].criteria if c.metric}
    assert thresholds["procedures.online_rate"] == 0.8
    assert thresholds["dossier.online_rate"] == 0.5
    # Progress (2.1) is judged by Decision 766's own clock, not the report form's.
    (progress,) = [c for c in templates["SERVICE"].criteria if c.area == "progress"]
    assert progress.metric == "dossier.on_time_rate_766"


def test_a_broken_template_file_fails_to_load_naming_the_field(tmp_path):
    body = json.loads((FRAMEWORK_DIR / "par-department.json").read_text(encoding="utf-8"))
    body["criteria"][1]["metric"] = "plan.happiness"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(TemplateError, match="criteria.1.metric"):
        load_template(broken)
