"""program versions: every version that ran, the version of each conversation and metric
value, variants

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import storage.types


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('program_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('checksum', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('source_path', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('recorded_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('program_id', 'checksum'),
    sa.UniqueConstraint('program_id', 'version')
    )
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('program_checksum',
                                      sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('variant', sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))
    with op.batch_alter_table('metricvalue', schema=None) as batch_op:
        batch_op.add_column(sa.Column('program_checksum',
                                      sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('metricvalue', schema=None) as batch_op:
        batch_op.drop_column('program_checksum')
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.drop_column('variant')
    with op.batch_alter_table('conversation', schema=None) as batch_op:
        batch_op.drop_column('program_checksum')
    op.drop_table('program_version')
