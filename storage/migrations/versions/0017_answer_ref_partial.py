"""answer_ref_partial: the index on answer.source_ref holds only answers that have one

An edit is looked up by its platform message (`source_ref = ...`), which only answers given
by a typed Telegram message have; the answers without one (button presses, Slack, the
console) were each an index entry of NULL for nothing.

Revision ID: 0017
Revises: 0016
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

HAS_SOURCE = "source_ref IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.drop_index('ix_answer_source_ref')
        batch_op.create_index('ix_answer_source_ref', ['source_ref'], unique=False,
                              sqlite_where=sa.text(HAS_SOURCE),
                              postgresql_where=sa.text(HAS_SOURCE))


def downgrade() -> None:
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.drop_index('ix_answer_source_ref')
        batch_op.create_index('ix_answer_source_ref', ['source_ref'], unique=False)
