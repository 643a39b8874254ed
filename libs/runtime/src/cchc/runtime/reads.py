"""What every service's queries share: the agencies a caller's read covers, and
read-your-writes (wait until the read model has applied the caller's position)."""

from typing import Any

from cchc.contracts.messages import Principal, Request
from cchc.contracts.subjects import stream_name
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.domain_errors import BadRequest, Forbidden, NotCaughtUp

READ_YOUR_WRITES_TIMEOUT_S = 5.0


def readable_agencies(principal: Principal, agency: str | None) -> list[str] | None:
    """The agencies a read covers: None means all of them; another agency's is a 403."""
    if agency is not None:
        if not principal.may_read(agency):
            raise Forbidden(f"cannot read agency {agency}")
        return [agency]
    return None if principal.reads_everything else [principal.agency or ""]


async def caught_up(runner: ProjectionRunner, request: Request[Any]) -> None:
    """Return once the read model has applied ``request.min_position`` (unavailable after a while)."""
    await applied(runner, request.min_position, "X-Min-Position")


async def applied(
    runner: ProjectionRunner, wanted: int | None, field: str, what: str = "the read model"
) -> None:
    """Return once ``runner`` has applied position ``wanted`` (unavailable after a while).

    A position beyond the end of the log was never returned by a write: it is a bad request,
    not something to wait for.
    """
    if not wanted or runner.position >= wanted:
        return
    end = await _log_end(runner)
    if end is not None and wanted > end:
        error = BadRequest(
            f"{field} {wanted} is beyond the end of the {runner.projection.context} log ({end})",
            field=field,
        )
        error.title = "Position beyond the log"
        raise error
    if not await runner.wait_for(wanted, READ_YOUR_WRITES_TIMEOUT_S):
        raise NotCaughtUp(f"{what} is at {runner.position}, not yet at {wanted}")


async def _log_end(runner: ProjectionRunner) -> int | None:
    """The last position of the runner's stream; None when it cannot be asked now."""
    try:
        info = await runner.js.stream_info(stream_name(runner.projection.context))
    except Exception:  # noqa: BLE001 - NATS unreachable: wait (and maybe 503) as before
        return None
    return info.state.last_seq
