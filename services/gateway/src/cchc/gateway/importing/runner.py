"""Sending the checked rows: each row's steps in order, rows side by side (a bounded number).

Every step carries its derived idempotency key: a row sent again (the same file imported again,
or an import resumed after a failure) is answered from the log, writing nothing twice. A row a
service refuses all the same (a dossier changed meanwhile) is reported, and the others go on.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from cchc.gateway.importing.rows import Checked, Refusal, Step

# (endpoint, body, target, idempotency key) -> (the answer, whether it was already there)
Send = Callable[[str, dict[str, Any], str | None, str], Awaitable[tuple[dict[str, Any], bool]]]
CONCURRENCY = 16


class StepRefused(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = field, reason


@dataclass
class Outcome:
    rows: int = 0
    imported: int = 0
    commands: int = 0
    already_present: int = 0
    refused: list[Refusal] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        return {"rows": self.rows, "imported": self.imported, "commands": self.commands,
                "already_present": self.already_present,
                "rejected": [r.as_dict() for r in sorted(self.refused, key=lambda r: r.row)]}


async def send_rows(checked: Checked, send: Send, progress: Callable[[int], None] | None = None,
                    concurrency: int = CONCURRENCY) -> Outcome:
    outcome = Outcome(rows=len(checked.items) + len({r.row for r in checked.refusals}))
    gate = asyncio.Semaphore(concurrency)

    async def one(number: int, steps: list[Step]) -> None:
        async with gate:
            target: str | None = None
            try:
                for step in steps:
                    body = step.body.model_dump(mode="json", exclude_none=True)
                    answer, replayed = await send(step.endpoint, body,
                                                  target if step.on_previous else None, step.key)
                    target = target or answer.get("id") or answer.get("code")
                    outcome.commands += 1
                    outcome.already_present += replayed
                outcome.imported += 1
            except StepRefused as refused:
                outcome.refused.append(Refusal(number, refused.field, refused.reason))
            if progress is not None:
                progress(1)

    await asyncio.gather(*(one(number, steps) for number, steps in checked.items))
    return outcome
