"""integer_times: on SQLite, every time is an integer of microseconds since 1970

A time was stored as text, "2026-03-02 08:00:00.000000" (26 bytes; 19 for the columns 0018
made compact), in its row and again in each index over it. An answer, a metric value, a
conversation and a planned touchpoint carry one to four each, about 600 bytes per
client-week over a year. As an integer (storage/types.UTCDateTime) a time is 8 bytes at
most, exact to the microsecond, and still sorts as the times do. Every column declared
DATETIME is rewritten; the declared types stay. PostgreSQL stores timestamps as 8 bytes
already: nothing changes there.

Revision ID: 0019
Revises: 0018 (0018_compact_times)
"""
from collections.abc import Callable

from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

# The columns 0018 made compact: downgraded, a whole second goes back without its fraction.
COMPACT = {
    'person': ('created_at',),
    'enrolment': ('invite_expires_at', 'enrolled_at', 'stage_started_at', 'joined_at',
                  'replan_at'),
    'touchpoint': ('due_at', 'claimed_until', 'done_at'),
    'touchpoint_plan': ('stage_started_at', 'planned_at'),
}

# "YYYY-MM-DD HH:MM:SS[.ffffff]" as microseconds, in integers only (no float rounding).
TO_MICROS = ("CAST(strftime('%s', substr({c}, 1, 19)) AS INTEGER) * 1000000"
             " + CAST(substr({c} || '.000000', 21, 6) AS INTEGER)")
TO_TEXT = ("strftime('%Y-%m-%d %H:%M:%S', {c} / 1000000, 'unixepoch')"
           " || printf('.%06d', {c} % 1000000)")


def _time_columns(connection: sa.Connection) -> dict[str, list[str]]:
    tables = [name for (name,) in connection.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    found: dict[str, list[str]] = {}
    for table in tables:
        columns = [row[1] for row in connection.exec_driver_sql(f'PRAGMA table_info("{table}")')
                   if row[2].upper() == 'DATETIME']
        if columns:
            found[table] = columns
    return found


def upgrade() -> None:
    _rewrite(lambda _table, column: TO_MICROS.format(c=column), stored_as='text')


def downgrade() -> None:
    _rewrite(_as_text, stored_as='integer')


def _as_text(table: str, column: str) -> str:
    text = TO_TEXT.format(c=column)
    if column not in COMPACT.get(table, ()):
        return text
    return (f"CASE WHEN {column} % 1000000 = 0 THEN strftime('%Y-%m-%d %H:%M:%S',"
            f" {column} / 1000000, 'unixepoch') ELSE {text} END")


def _rewrite(value_of: Callable[[str, str], str], *, stored_as: str) -> None:
    """Set every time column's values stored as `stored_as` to `value_of(table, column)`."""
    connection = op.get_bind()
    if connection.dialect.name != 'sqlite':
        return
    for table, columns in _time_columns(connection).items():
        for column in columns:
            op.execute(f'UPDATE "{table}" SET "{column}" = {value_of(table, column)} '
                       f"WHERE typeof({column}) = '{stored_as}'")
