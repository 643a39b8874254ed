"""Column types that behave the same on SQLite and PostgreSQL."""

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

# SQLAlchemy's own SQLite DATETIME storage format: what the column has always held.
_SQLITE_TEXT = "%04d-%02d-%02d %02d:%02d:%02d.%06d"
# Instants already formatted, shared by every column: a replayed dossier event writes 7
# timestamps but 3 or 4 distinct instants (a receipt's due time is its due_at, appointment_at
# and due_at_766; its received_at is also its first due period's start). Keyed by the aware
# datetime: equal instants in any zone share their UTC text. Python compares two datetimes of
# one zone by wall time alone, so the second of a repeated hour (fold=1) is never cached.
# Emptied when full.
_TEXT_OF: dict[datetime, str] = {}
TEXT_CACHE_SIZE = 4096


class UtcDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out (SQLite keeps no offset of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect):  # type: ignore[no-untyped-def]
        """On SQLite, straight to the text SQLAlchemy's DATETIME would store: one step instead
        of three (to UTC, drop the zone, format), for the 8 timestamps a replayed event writes
        on average. Elsewhere, the usual chain."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def to_text(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.fold:  # equal (same zone, same wall time) to the other fold's instant
                return _utc_text(value)
            text = _TEXT_OF.get(value)  # a naive datetime equals no aware one: never found
            if text is None:
                text = _utc_text(value)
                if len(_TEXT_OF) >= TEXT_CACHE_SIZE:
                    _TEXT_OF.clear()
                _TEXT_OF[value] = text
            return text

        return to_text

    def process_result_value(self, value: datetime | None, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc_text(value: datetime) -> str:
    offset = value.utcoffset()
    if offset is None:
        raise ValueError("naive datetime")
    if offset:
        value = value.astimezone(UTC)
    return _SQLITE_TEXT % (value.year, value.month, value.day, value.hour, value.minute,
                           value.second, value.microsecond)
