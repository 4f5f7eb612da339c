"""answer_slim: an answer's flow is its conversation's; the source_ref index is partial

answer.flow_id repeated the flow_id of the answer's conversation (the engine accepts an
answer only in its conversation's flow); readers join the conversation instead.

An edit is looked up by its platform message (`source_ref = ...`), which only answers given
by a typed Telegram message have; the answers without one (button presses, Slack, the
console) were each an index entry of NULL for nothing.

Revision ID: 0017
Revises: 0016
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


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
        batch_op.drop_column('flow_id')


def downgrade() -> None:
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flow_id', sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))
    op.execute("UPDATE answer SET flow_id = (SELECT conversation.flow_id FROM conversation"
               " WHERE conversation.id = answer.conversation_id)")
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.alter_column('flow_id', existing_type=sqlmodel.sql.sqltypes.AutoString(length=64),
                              nullable=False)
        batch_op.drop_index('ix_answer_source_ref')
        batch_op.create_index('ix_answer_source_ref', ['source_ref'], unique=False)
