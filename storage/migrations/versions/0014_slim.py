"""slim: closed conversations keep no engine state; answer's enrolment index goes

The index on answer.enrolment_id alone is the first column of ix_answer_window
(enrolment_id, answered_at), which serves every query by enrolment as well.

Revision ID: 0014
Revises: 0013
"""
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.drop_index('ix_answer_enrolment_id')
    # A closed conversation's state only repeated its answers (nothing resumes it).
    op.execute("UPDATE conversation SET state = '{}' WHERE closed_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.create_index('ix_answer_enrolment_id', ['enrolment_id'], unique=False)
