"""compact_times: on SQLite, times of the per-client tables drop a zero fraction; the
replan_at index holds only enrolments with something ahead

A planned row's due time, its entry in the due index, an enrolment's and a plan's times
were stored as "2026-03-02 08:00:00.000000": 7 bytes of zeros each, about 21 times per
client (the due index repeats every planned row's). These columns now store a whole
second as "2026-03-02 08:00:00" (storage/types.CompactUTCDateTime); existing values are
rewritten so each column holds one form only. PostgreSQL stores timestamps as 8 bytes:
nothing changes there.

ix_enrolment_replan_at becomes partial (replan_at IS NOT NULL): a finished enrolment has
nothing ahead and no query looks it up by that column.

Revision ID: 0018
Revises: 0017 (0017_answer_slim)
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

COLUMNS = {
    'person': ('created_at',),
    'enrolment': ('invite_expires_at', 'enrolled_at', 'stage_started_at', 'joined_at',
                  'replan_at'),
    'touchpoint': ('due_at', 'claimed_until', 'done_at'),
    'touchpoint_plan': ('stage_started_at', 'planned_at'),
}
HAS_REPLAN = "replan_at IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.drop_index('ix_enrolment_replan_at')
        batch_op.create_index('ix_enrolment_replan_at', ['replan_at'], unique=False,
                              sqlite_where=sa.text(HAS_REPLAN),
                              postgresql_where=sa.text(HAS_REPLAN))
    if op.get_bind().dialect.name != 'sqlite':
        return
    for table, columns in COLUMNS.items():
        for column in columns:
            op.execute(f"UPDATE {table} SET {column} = substr({column}, 1, 19) "
                       f"WHERE {column} LIKE '%.000000'")


def downgrade() -> None:
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.drop_index('ix_enrolment_replan_at')
        batch_op.create_index('ix_enrolment_replan_at', ['replan_at'], unique=False)
    if op.get_bind().dialect.name != 'sqlite':
        return
    for table, columns in COLUMNS.items():
        for column in columns:
            op.execute(f"UPDATE {table} SET {column} = {column} || '.000000' "
                       f"WHERE length({column}) = 19")
