"""Which dossiers a closed year's archive may take (``cchc archive create dossier YEAR``).

A dossier is finished once its result is decided or returned, or the citizen withdrew it: no
command changes it after that in the normal course. Agencies, procedures and calendar days stay
in the stream: they are few (a province's catalogue, not its caseload), and every later dossier
refers to them.
"""

from cchc.contracts.dossier import (
    DossierReceived,
    DossierResolved,
    DossierWithdrawn,
    ResultReturned,
    YearArchived,
    YearRestored,
)
from cchc.runtime.archive_store import ArchiveManifest
from cchc.runtime.archiving import RECORDED, AggregateSummary, ArchiveRules

FINISHING = frozenset(e.event_type() for e in (DossierResolved, ResultReturned, DossierWithdrawn))


def finished_dossier(summary: AggregateSummary) -> bool:
    return summary.first_type == DossierReceived.event_type() and summary.last_type in FINISHING


def _archived(manifest: ArchiveManifest) -> YearArchived:
    return YearArchived(**{name: getattr(manifest, name) for name in RECORDED})


def _restored(manifest: ArchiveManifest, events: int) -> YearRestored:
    return YearRestored(year=manifest.year, generation=manifest.generation, events=events)


DOSSIER_ARCHIVE = ArchiveRules(finished_dossier, _archived, _restored)
