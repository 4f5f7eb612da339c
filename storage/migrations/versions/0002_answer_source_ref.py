"""answer.source_ref: which platform message gave an answer, so editing it edits the answer

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_ref', sa.String(length=128), nullable=True))
        batch_op.create_index('ix_answer_source_ref', ['source_ref'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.drop_index('ix_answer_source_ref')
        batch_op.drop_column('source_ref')
