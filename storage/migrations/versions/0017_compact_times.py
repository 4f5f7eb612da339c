"""compact_times: on SQLite, times of the per-client tables drop a zero fraction

A planned row's due time, its entry in the due index, an enrolment's and a plan's times
were stored as "2026-03-02 08:00:00.000000": 7 bytes of zeros each, about 21 times per
client (the due index repeats every planned row's). These columns now store a whole
second as "2026-03-02 08:00:00" (storage/types.CompactUTCDateTime); existing values are
rewritten so each column holds one form only. PostgreSQL stores timestamps as 8 bytes:
nothing changes there.

Revision ID: 0017
Revises: 0015 (0015_due_partial)
"""
from alembic import op


revision = '0017'
down_revision = '0015'
branch_labels = None
depends_on = None

COLUMNS = {
    'person': ('created_at',),
    'enrolment': ('invite_expires_at', 'enrolled_at', 'stage_started_at', 'joined_at',
                  'replan_at'),
    'touchpoint': ('due_at', 'claimed_until', 'done_at'),
    'touchpoint_plan': ('stage_started_at', 'planned_at'),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    for table, columns in COLUMNS.items():
        for column in columns:
            op.execute(f"UPDATE {table} SET {column} = substr({column}, 1, 19) "
                       f"WHERE {column} LIKE '%.000000'")


def downgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    for table, columns in COLUMNS.items():
        for column in columns:
            op.execute(f"UPDATE {table} SET {column} = {column} || '.000000' "
                       f"WHERE length({column}) = 19")
