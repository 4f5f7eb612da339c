"""coach loop: relayed messages between coach and client, a coach's check-in channel

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import storage.types


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('relayed_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=True),
    sa.Column('coach_id', sa.Integer(), nullable=False),
    sa.Column('direction', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('card_id', sa.Integer(), nullable=True),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('slack_channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('slack_ts', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('answered_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['card_id'], ['relayed_message.id'], ),
    sa.ForeignKeyConstraint(['coach_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolment.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('relayed_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_relayed_message_card_id'), ['card_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_relayed_message_enrolment_id'), ['enrolment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_relayed_message_slack_ts'), ['slack_ts'], unique=False)

    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkin_channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('checkin_channel')

    with op.batch_alter_table('relayed_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_relayed_message_slack_ts'))
        batch_op.drop_index(batch_op.f('ix_relayed_message_enrolment_id'))
        batch_op.drop_index(batch_op.f('ix_relayed_message_card_id'))

    op.drop_table('relayed_message')
