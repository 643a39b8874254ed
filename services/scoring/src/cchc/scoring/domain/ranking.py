"""Rankings within a group: by score, descending; equal scores share a rank (1, 2, 2, 4).

"12/20" reads rank 12 of 20 ranked agencies. Ties are decided on the published two-decimal
score, so 93.8 and 93.80 are the same place.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Ranked:
    agency: str
    score: float
    rank: int


def competition_ranking(scores: dict[str, float]) -> list[Ranked]:
    """Standard competition ranking; agencies with equal scores are listed by code."""
    ordered = sorted(scores.items(), key=lambda item: (-round(item[1], 2), item[0]))
    ranked: list[Ranked] = []
    for position, (agency, score) in enumerate(ordered, start=1):
        tied = ranked and round(ranked[-1].score, 2) == round(score, 2)
        ranked.append(Ranked(agency, score, ranked[-1].rank if tied else position))
    return ranked
