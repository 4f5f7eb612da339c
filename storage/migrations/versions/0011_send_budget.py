"""send budget: the slots every worker of a bot takes before a send (PostgreSQL)

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import storage.types


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('send_slot',
    sa.Column('bot', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('gate', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('free_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('bot', 'gate', 'slot')
    )


def downgrade() -> None:
    op.drop_table('send_slot')
