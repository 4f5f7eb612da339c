"""horizon: each enrolment says when its touchpoints must next be planned

Revision ID: 0013
Revises: 0012
"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa
import storage.types


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('replan_at', storage.types.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index(batch_op.f('ix_enrolment_replan_at'), ['replan_at'],
                              unique=False)
    # Every enrolment is planned once more, by the rolling planner.
    enrolment = sa.table('enrolment', sa.column('replan_at', storage.types.UTCDateTime()))
    op.execute(enrolment.update().values(replan_at=datetime(1970, 1, 1, tzinfo=UTC)))


def downgrade() -> None:
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrolment_replan_at'))
        batch_op.drop_column('replan_at')
