"""version_ids: conversations and metric values name their program version by its row id

Each conversation and metric value kept the 64-character checksum of the program version
it ran on; it now keeps the id of that version's program_version row (the checksum is
there, once). Rows whose checksum no stored version has (none in a bot that recorded its
versions, as every run does since 0007) get NULL, which reads as the running version,
as a checksum without its version always did.

Revision ID: 0016
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

TABLES = ('conversation', 'metricvalue')

# The version of the row's own program with the row's checksum.
TO_ID = """UPDATE {table} SET program_version_id = (
    SELECT program_version.id FROM program_version JOIN enrolment
      ON enrolment.program_id = program_version.program_id
    WHERE enrolment.id = {table}.enrolment_id
      AND program_version.checksum = {table}.program_checksum)
WHERE program_checksum IS NOT NULL"""
TO_CHECKSUM = """UPDATE {table} SET program_checksum = (
    SELECT checksum FROM program_version WHERE program_version.id = {table}.program_version_id)
WHERE program_version_id IS NOT NULL"""


def _sqlite() -> bool:
    return op.get_context().dialect.name == 'sqlite'


# On SQLite the columns are added and dropped in place (SQLite 3.35 or later): batch mode
# would copy the table and drop the old one, which answers refer to (conversation).
def upgrade() -> None:
    for table in TABLES:
        if _sqlite():
            op.execute(f"ALTER TABLE {table} ADD COLUMN program_version_id INTEGER"
                       " REFERENCES program_version (id)")
        else:
            op.add_column(table, sa.Column('program_version_id', sa.Integer(), nullable=True))
            op.create_foreign_key(f'fk_{table}_program_version', table, 'program_version',
                                  ['program_version_id'], ['id'])
        op.execute(TO_ID.format(table=table))
        op.drop_column(table, 'program_checksum')


def downgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column('program_checksum',
                                       sqlmodel.sql.sqltypes.AutoString(length=64),
                                       nullable=True))
        op.execute(TO_CHECKSUM.format(table=table))
        if not _sqlite():
            op.drop_constraint(f'fk_{table}_program_version', table, type_='foreignkey')
        op.drop_column(table, 'program_version_id')
