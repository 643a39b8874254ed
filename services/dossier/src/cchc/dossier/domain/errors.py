"""Domain errors: what a command's caller did wrong, with the HTTP-like status it maps to."""


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidCommand(DomainError):
    """A field's value cannot be right (e.g. a resolution before the receipt)."""

    status = 422
    title = "Invalid command"


class Conflict(DomainError):
    """The aggregate's state forbids the command (e.g. resolving a withdrawn dossier)."""

    status = 409
    title = "Conflict"


class NotFound(DomainError):
    status = 404
    title = "Not found"
