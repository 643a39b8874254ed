"""Domain errors: a broken invariant, named, with the HTTP status it answers as."""


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidCommand(DomainError):
    """The command contradicts the facts it is about (a time before the task existed, say)."""

    status = 422
    title = "Invalid command"


class Conflict(DomainError):
    """The aggregate's state forbids the command (completing a cancelled task, say)."""

    status = 409
    title = "Conflict"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"
