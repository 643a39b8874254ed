"""Rankings: descending scores, equal scores share a rank (1, 2, 2, 4)."""

from cchc.scoring.domain.ranking import competition_ranking


def ranks(scores: dict[str, float]) -> list[tuple[str, int]]:
    return [(r.agency, r.rank) for r in competition_ranking(scores)]


def test_descending_with_shared_ranks_and_a_gap_after_a_tie():
    assert ranks({"A": 90, "B": 95.5, "C": 95.5, "D": 80, "E": 99}) == [
        ("E", 1), ("B", 2), ("C", 2), ("A", 4), ("D", 5)
    ]


def test_everyone_tied_is_first():
    assert ranks({"A": 50, "B": 50, "C": 50}) == [("A", 1), ("B", 1), ("C", 1)]


def test_ties_are_judged_on_the_published_two_decimals():
    assert ranks({"A": 93.8, "B": 93.800000001, "C": 93.79}) == [("A", 1), ("B", 1), ("C", 3)]


def test_no_results_no_ranking():
    assert competition_ranking({}) == []
