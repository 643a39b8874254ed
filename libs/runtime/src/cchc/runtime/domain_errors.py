"""Domain errors shared by every service's pure domain: a broken rule, named, with the status
it answers as. No I/O here: a domain module may import it freely."""


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidCommand(DomainError):
    """A value contradicts the facts it is about (a resolution before the receipt, say)."""

    status = 422
    title = "Invalid command"


class Conflict(DomainError):
    """The aggregate's state forbids the command (resolving a withdrawn dossier, say)."""

    status = 409
    title = "Conflict"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"
