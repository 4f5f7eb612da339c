"""due_partial: the touchpoint due index holds only the rows still planned

The claim and the next-due lookup read planned rows only; the rows that ended (most of
them over a journey) were indexed by (status, due_at) for nothing. The index is now on
due_at alone, for rows with status 'planned'.

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

PLANNED_ROW = "status = 'planned'"


def upgrade() -> None:
    with op.batch_alter_table('touchpoint', schema=None) as batch_op:
        batch_op.drop_index('ix_touchpoint_due')
        batch_op.create_index('ix_touchpoint_due', ['due_at'], unique=False,
                              sqlite_where=sa.text(PLANNED_ROW),
                              postgresql_where=sa.text(PLANNED_ROW))


def downgrade() -> None:
    with op.batch_alter_table('touchpoint', schema=None) as batch_op:
        batch_op.drop_index('ix_touchpoint_due')
        batch_op.create_index('ix_touchpoint_due', ['status', 'due_at'], unique=False)
