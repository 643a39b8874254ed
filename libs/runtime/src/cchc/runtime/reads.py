"""What every service's queries share: the agencies a caller's read covers, and
read-your-writes (wait until the read model has applied the caller's position)."""

from cchc.contracts.messages import Principal, Request
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.rpc import ProblemError

READ_YOUR_WRITES_TIMEOUT_S = 5.0


def readable_agencies(principal: Principal, agency: str | None) -> list[str] | None:
    """The agencies a read covers: None means all of them; another agency's is a 403."""
    if agency is not None:
        if not principal.may_read(agency):
            raise ProblemError(403, "Forbidden", f"cannot read agency {agency}")
        return [agency]
    return None if principal.reads_everything else [principal.agency or ""]


async def caught_up(runner: ProjectionRunner, request: Request) -> None:
    """Return once the read model has applied ``request.min_position`` (503 after a while)."""
    wanted = request.min_position
    if wanted and not await runner.wait_for(wanted, READ_YOUR_WRITES_TIMEOUT_S):
        raise ProblemError(
            503, "Not caught up", f"the read model is at {runner.position}, not yet at {wanted}"
        )
