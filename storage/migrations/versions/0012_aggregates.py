"""aggregates: the settled part of each enrolment's history, kept for its metrics

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('metric_aggregate',
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolment.id'], ),
    sa.PrimaryKeyConstraint('enrolment_id')
    )


def downgrade() -> None:
    op.drop_table('metric_aggregate')
