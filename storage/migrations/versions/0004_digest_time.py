"""digest: a digest time per coach, an index for a week of answers per enrolment

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest_time', sqlmodel.sql.sqltypes.AutoString(length=5),
                                      nullable=True))
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.create_index('ix_answer_window', ['enrolment_id', 'answered_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.drop_index('ix_answer_window')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('digest_time')
