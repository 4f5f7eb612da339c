"""action items: a coach's session notes and the action items the next check-in asks about

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import storage.types


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('session_note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('coach_id', sa.Integer(), nullable=True),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
    sa.Column('next_checkpoint', sa.Date(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['coach_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolment.id'], ),
    sa.ForeignKeyConstraint(['session_id'], ['coaching_session.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('session_note', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_note_enrolment_id'), ['enrolment_id'], unique=False)

    op.create_table('action_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('note_id', sa.Integer(), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('due', sa.Date(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('last_answer', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('answered_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolment.id'], ),
    sa.ForeignKeyConstraint(['note_id'], ['session_note.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('action_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_item_enrolment_id'), ['enrolment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_item_note_id'), ['note_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('action_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_item_note_id'))
        batch_op.drop_index(batch_op.f('ix_action_item_enrolment_id'))
    op.drop_table('action_item')

    with op.batch_alter_table('session_note', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_note_enrolment_id'))
    op.drop_table('session_note')
