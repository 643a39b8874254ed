"""Domain errors of this service: the shared family (each carries its status and field)."""

from cchc.runtime.domain_errors import Conflict, DomainError, Forbidden, InvalidCommand, NotFound

__all__ = ["Conflict", "DomainError", "Forbidden", "InvalidCommand", "NotFound"]
