"""due_partial: the touchpoint due index holds only the rows still planned

The claim and the next-due lookup read planned rows only; the rows that ended (most of
them over a journey) were indexed by (status, due_at) for nothing. The index is now on
due_at alone, for rows with status 'planned'. And a plan keeps the first 16 characters of
its program version's checksum, not all 64 (every enrolment stores one).

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
    op.execute("UPDATE touchpoint_plan SET program_checksum = substr(program_checksum, 1, 16)")
    with op.batch_alter_table('touchpoint_plan', schema=None) as batch_op:
        batch_op.alter_column('program_checksum', existing_type=sa.String(length=64),
                              type_=sa.String(length=16), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('touchpoint_plan', schema=None) as batch_op:
        batch_op.alter_column('program_checksum', existing_type=sa.String(length=16),
                              type_=sa.String(length=64), existing_nullable=False)
    with op.batch_alter_table('touchpoint', schema=None) as batch_op:
        batch_op.drop_index('ix_touchpoint_due')
        batch_op.create_index('ix_touchpoint_due', ['status', 'due_at'], unique=False)
