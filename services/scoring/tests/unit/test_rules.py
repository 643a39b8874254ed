"""Bands, the proportional rule of Decision 766, and survey points, each with its explanation."""

import pytest
from cchc.contracts.scoring import Band, Criterion, SurveyCount
from cchc.scoring.domain.rules import auto_points, band_points, proportional_points, survey_rate

PLAN_BANDS = [Band(min_rate=0, points=0), Band(min_rate=0.7, points=1), Band(min_rate=0.9, points=2)]


@pytest.mark.parametrize(
    ("value", "points"),
    [(0.0, 0), (0.69, 0), (0.7, 1), (0.8, 1), (0.8999, 1), (0.9, 2), (1.0, 2)],
)
def test_the_highest_band_reached_gives_the_points(value, points):
    assert band_points(PLAN_BANDS, value)[0] == points


def test_below_every_band_is_zero_and_band_order_does_not_matter():
    bands = [Band(min_rate=0.9, points=2), Band(min_rate=0.5, points=1)]
    assert band_points(bands, 0.4) == (0.0, None)
    assert band_points(bands, 0.95) == (2, bands[0])


def test_proportional_rule_full_points_at_the_threshold_else_pro_rata():
    assert proportional_points(12, 0.8, 0.8) == 12
    assert proportional_points(12, 0.8, 0.95) == 12
    assert proportional_points(12, 0.8, 0.4) == 6
    assert proportional_points(6, 0.5, 0.3333) == 4.0  # 0.3333 × 6 / 0.5 = 3.9996 -> 4.0
    assert proportional_points(20, 1.0, 0.9362) == 18.72


def criterion(**rule) -> Criterion:
    return Criterion(code="3.3", title="Tỷ lệ hồ sơ trực tuyến", area="online_service",
                     max_points=6, method="auto", metric="dossier.online_rate", **rule)


def test_an_auto_score_says_which_metric_value_and_rule_gave_it():
    points, why = auto_points(criterion(threshold=0.5), 0.25)
    assert points == 3
    assert why == {"metric": "dossier.online_rate", "value": 0.25, "rule": "0.25 × 6 / 0.5",
                   "threshold": 0.5, "points": 3}
    points, why = auto_points(criterion(bands=[{"min_rate": 0.2, "points": 4}]), 0.25)
    assert points == 4 and why["band"] == {"min_rate": 0.2, "points": 4}


def test_no_data_earns_nothing_and_says_so():
    assert auto_points(criterion(threshold=0.5), None) == (
        0.0, {"metric": "dossier.online_rate", "value": None, "rule": "no data", "points": 0.0}
    )


def test_survey_rate_from_totals_or_the_mean_of_questions():
    assert survey_rate(200, 150, []) == 0.75
    questions = [SurveyCount(respondents=100, satisfied=100), SurveyCount(respondents=50, satisfied=25)]
    assert survey_rate(150, 125, questions) == 0.75
