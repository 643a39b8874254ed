"""Domain errors shared by every service: a broken rule, named by its kind, never by a status.

No I/O here: a domain module may import it freely. The endpoints answer each error as a
``ServiceProblem`` of its kind; the gateway alone maps kinds to HTTP statuses.
"""

from cchc.contracts.messages import FieldError, ProblemKind, ServiceProblem


class DomainError(Exception):
    """The request itself is malformed (a tampered cursor, a position beyond the log)."""

    kind = ProblemKind.BAD_REQUEST
    title = "Bad request"

    def __init__(
        self, message: str, field: str | None = None,
        errors: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors = errors or ([(field, message)] if field else [])

    def problem(self) -> ServiceProblem:
        return ServiceProblem(
            kind=self.kind, title=self.title, detail=self.message,
            errors=[FieldError(field=f, message=m) for f, m in self.errors],
        )


BadRequest = DomainError


class InvalidCommand(DomainError):
    """A value contradicts the facts it is about (a resolution before the receipt, say)."""

    kind = ProblemKind.INVALID
    title = "Invalid command"


class InvalidInput(InvalidCommand):
    """A field breaks its own rules (a framework whose points do not add up, say)."""

    title = "Invalid input"


class Conflict(DomainError):
    """The aggregate's state forbids the command (resolving a withdrawn dossier, say)."""

    kind = ProblemKind.CONFLICT
    title = "Conflict"


class NotFound(DomainError):
    kind = ProblemKind.NOT_FOUND
    title = "Not found"


class Forbidden(DomainError):
    kind = ProblemKind.FORBIDDEN
    title = "Forbidden"


class PreconditionFailed(DomainError):
    """The caller named the version it expected (If-Match), and the aggregate is elsewhere."""

    kind = ProblemKind.PRECONDITION_FAILED
    title = "Precondition failed"


class NotCaughtUp(DomainError):
    """A read asked for a log position its read model has not applied yet: try again."""

    kind = ProblemKind.UNAVAILABLE
    title = "Not caught up"


class Unavailable(DomainError):
    """What the command needs did not answer (JetStream while a stream's leader moves, say):
    try again. Nothing is known to have been written; a retry under the same Idempotency-Key
    writes at most once."""

    kind = ProblemKind.UNAVAILABLE
    title = "Service unavailable"
