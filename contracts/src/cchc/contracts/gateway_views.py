"""What the gateway answers from its own assembly: the agency report, the audit, health, the
caller, the event feed. See ``cchc.contracts.pages`` for the rules."""

from typing import Any, Literal

from pydantic import Field

from cchc.contracts.dossier_views import TIME, DossierStats
from cchc.contracts.envelope import EventEnvelope
from cchc.contracts.pages import Answer, omissible

DATE = "ISO 8601 date (YYYY-MM-DD), Asia/Ho_Chi_Minh"


class ReportPlan(Answer):
    """The plan's figures as of the report's date (zeros when the agency has no plan)."""

    plan_id: str | None = Field(description="plan id; None when the agency has no plan that year")
    total: int = Field(description="tasks that existed by as_of")
    completed: int = Field(description="completed by as_of")
    completed_on_time: int | None = omissible("of which by their due date; absent without a plan")
    completed_late: int | None = omissible("of which after their due date; absent without a plan")
    in_progress: int | None = omissible("open and not past due; absent without a plan")
    overdue: int = Field(description="open and past due")
    cancelled: int = Field(description="cancelled by as_of")
    completion_rate: float | None = Field(
        description="completed / (total - cancelled), 4 decimals; None when nothing is left"
    )


class ReportIndex(Answer):
    """The latest published year of one index, with the agency's rank in its group."""

    index: str = Field(description="PAR, SIPAS or SERVICE")
    year: int = Field(description="the latest year published by as_of")
    score: float = Field(description="the agency's score")
    rank: int = Field(description="its rank in its group")
    of: int = Field(description="agencies ranked in its group")
    group: str = Field(description="its ranking group")


class AgencyReport(Answer):
    """``GET /reports/agency`` as JSON: an agency's CCHC report as of a date."""

    agency: str = Field(description="agency code")
    agency_name: str | None = Field(description="its registered name; None when unknown")
    year: int = Field(description="the report's year")
    as_of: str = Field(description=f"the day reported on; {DATE}")
    plan: ReportPlan = Field(description="the year's plan as of that day")
    dossiers: DossierStats = Field(description="dossier statistics from 1 January to as_of")
    procedures_published: int = Field(description="procedures published by as_of")
    indexes: list[ReportIndex] = Field(description="one per index with a published result")
    anchor: dict[str, Any] | None = Field(
        default=None, description="the newest signed anchor of the log when the report was made "
        "(fingerprint, short_fingerprint, position, signed_at, heads: each stream's last "
        "position); its short fingerprint is in the report's footer")


class AnchorSummary(Answer):
    """A signed anchor of the log's heads (``cchc.contracts.anchors``)."""

    fingerprint: str = Field(description="sha256 of the anchor, its signature included")
    short_fingerprint: str = Field(description="the first 64 bits: what a printed report shows")
    position: int = Field(description="the anchor's position in the ANCHORS stream")
    signed_at: str = Field(description="when the anchor signer signed it (ISO 8601)")
    key_id: str = Field(description="the anchor signer's key (GET /audit/keys)")
    valid: bool = Field(description="signed by an anchor key of the published keyring")
    heads: dict[str, int] = Field(description="each stream's last position it covers")


class EventSignature(Answer):
    """One event's signature as the audit judges it."""

    position: int = Field(description="the event's position in its stream")
    aggregate_version: int = Field(description="the event's version in its aggregate")
    type: str = Field(description="the event type")
    status: Literal["signed", "unsigned", "invalid"] = Field(
        description="signed: a valid signature by the service's key; unsigned: written before "
        "signing began (legacy, not a failure); invalid: a forgery, or unsigned after signing "
        "began")
    key_id: str | None = Field(default=None, description="the key that signed it")
    reason: str | None = Field(default=None, description="why it is invalid")
    anchored: bool = Field(description="at or before the newest anchor's head of its stream")


class LateEntryAudit(Answer):
    """An event of the audited history entered after the fact (by admin or home_affairs)."""

    version: int = Field(description="the dossier's version after it")
    type: str = Field(description="event type")
    occurred_at: str = Field(description=f"its business time; {TIME}")
    recorded_at: str = Field(description=f"when it was written; {TIME}")
    actor: str = Field(description="who entered it (token subject)")
    window_hours: float = Field(description="the entry window in force when it was recorded")
    reason: str = Field(description="the reason given (empty when none)")
    imported_from: str | None = Field(
        default=None, description="the file and row it was imported from; None: by hand")


class ChainAudit(Answer):
    """``GET /audit/dossiers/{id}``: the dossier's hash chain and signatures verified from the
    log, and the anchor that covers it."""

    id: str = Field(description="dossier id")
    valid: bool = Field(description="every event's hash chains to the one before, and no "
                        "signature is invalid")
    events: int = Field(description="number of events checked")
    head_hash: str = Field(description="hash of the last event")
    broken_at: int | None = Field(default=None, description="version where the chain breaks")
    chain_valid: bool = Field(description="the hash chain alone holds")
    signatures_valid: bool = Field(description="no event's signature is invalid")
    signatures: list[EventSignature] = Field(description="each event's signature status")
    anchor: AnchorSummary | None = Field(
        default=None, description="the first anchor covering the dossier's last event; None: "
        "not anchored yet (anchors are signed periodically)")
    late_entries: list[LateEntryAudit] = Field(
        default_factory=list, description="its events entered after the fact, oldest first")


class ImportRejection(Answer):
    """One problem of an imported row."""

    row: int = Field(description="the row's number in the file (the header is row 1)")
    field: str = Field(description="the column, as the file's header names it")
    reason: str = Field(description="what is wrong")


class ImportReport(Answer):
    """``POST /imports/{kind}``: what an import did (422: nothing, and why)."""

    rows: int = Field(description="rows of data in the file")
    imported: int = Field(description="rows now in the log (already present ones included)")
    commands: int = Field(description="commands sent (a dossier row: receipt, result, return)")
    already_present: int = Field(description="of them answered from the log: written before")
    rejected: list[ImportRejection] = Field(description="rows a service refused all the same")


class BuildingVersion(Answer):
    """A projection version replaying the log beside the one that serves."""

    name: str = Field(description="its name, e.g. dossier-read-v5")
    position: int = Field(description="the last log position it has applied")
    head: int = Field(description="the head of the log it replays to before reads switch to it")


class ProjectionVersions(Answer):
    """One projection family of a service (a replica's view: the one that answered)."""

    serving: str = Field(description="the version reads come from, e.g. dossier-read-v4")
    position: int = Field(description="the last log position it has applied")
    building: BuildingVersion | None = Field(
        description="a newer version replaying beside it, or None")


class BackupsHealth(Answer):
    """How the scheduled backups go, as the backup job last recorded it in NATS."""

    healthy: bool = Field(description="false once the last backup failed, or none was whole "
                                       "for longer than the interval and an hour")
    detail: str = Field(description="why, with the time of the last attempt")


_PROJECTIONS = ("per service that answered, per projection family: the version that serves and "
                "one replaying beside it (an upgrade under way); information only, it changes "
                "no readiness")
_BACKUPS = ("the scheduled backups, absent until a backup job has reported one; information "
            "only, it changes no readiness")


class Health(Answer):
    """``GET /health`` when ready (200)."""

    status: str = Field(description="ok")
    nats: str = Field(description="ok or down")
    services: dict[str, str] = Field(description="each service: ok or down")
    projections: dict[str, dict[str, ProjectionVersions]] = Field(
        default_factory=dict, description=_PROJECTIONS)
    backups: BackupsHealth | None = omissible(_BACKUPS)


class HealthUnavailable(Answer):
    """``GET /health`` when not ready (503): a problem document carrying the same report."""

    type: str = Field(description="problem type URI")
    title: str = Field(description="short summary")
    status: int = Field(description="503")
    detail: str = Field(description="what is not ready")
    errors: list[dict[str, str]] = Field(description="always empty here")
    nats: str = Field(description="ok or down")
    services: dict[str, str] = Field(description="each service: ok or down")
    projections: dict[str, dict[str, ProjectionVersions]] = Field(
        default_factory=dict, description=_PROJECTIONS)
    backups: BackupsHealth | None = omissible(_BACKUPS)


class CallerView(Answer):
    """``GET /me``: the caller as the gateway understood its token."""

    sub: str = Field(description="token subject")
    role: str = Field(description="admin, home_affairs, officer or inspector")
    agency: str | None = Field(description="an officer's agency")


class EventPage(Answer):
    """``GET /events``: envelopes after a log position."""

    items: list[EventEnvelope] = Field(description="envelopes in log order")
    next_cursor: int | None = Field(
        default=None, description="position of the last envelope (poll on from it); None if none"
    )
