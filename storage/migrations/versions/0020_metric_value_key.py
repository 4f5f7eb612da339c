"""metric_value_key: a metric value is keyed by its enrolment, metric and time

Every read of metric values asks for an enrolment's metric in time order, which the index
ix_metric_lookup (enrolment_id, metric_id, at) answered beside the table's own row id: each
value was stored twice, about 120 bytes per client-week. The key is now the primary key and
the id is gone; on SQLite the table is stored in that key's b-tree (WITHOUT ROWID), so a
value is stored once. One value per metric and instant: were two stored at one instant
(only a clock standing still can do it), the later one is kept, the one every read took as
the latest.

Revision ID: 0020
Revises: 0019 (0019_integer_times)
"""
from alembic import op


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

COLUMNS = "enrolment_id, metric_id, at, value, program_version_id"
# Numbered again on the way down in time order, as they were stored.
ORDER = "at, metric_id, enrolment_id"
# Of the rows sharing a key, the one stored last.
LAST_OF_EACH_KEY = ("SELECT max(id) FROM metricvalue"
                    " GROUP BY enrolment_id, metric_id, at")


def _sqlite() -> bool:
    return op.get_context().dialect.name == 'sqlite'


def _rebuild_sqlite(*, keyed: bool, rows: str) -> None:
    """Build metricvalue anew (keyed by enrolment, metric and time, or numbered by id) and
    fill it with `rows`: SQLite cannot add or drop a rowid in place."""
    name = 'metricvalue_keyed' if keyed else 'metricvalue_numbered'
    key = ("PRIMARY KEY (enrolment_id, metric_id, at)" if keyed
           else "id INTEGER NOT NULL PRIMARY KEY")
    op.execute(f"""CREATE TABLE {name} (
        {'' if keyed else key + ','}
        enrolment_id INTEGER NOT NULL REFERENCES enrolment (id),
        metric_id VARCHAR(64) NOT NULL,
        at DATETIME NOT NULL,
        value FLOAT NOT NULL,
        program_version_id INTEGER REFERENCES program_version (id)
        {',' + key if keyed else ''}
    ){' WITHOUT ROWID' if keyed else ''}""")
    op.execute(f"INSERT INTO {name} ({COLUMNS}) SELECT {COLUMNS} FROM metricvalue {rows}")
    op.execute("DROP TABLE metricvalue")
    op.execute(f"ALTER TABLE {name} RENAME TO metricvalue")


def upgrade() -> None:
    if _sqlite():
        _rebuild_sqlite(keyed=True, rows=f"WHERE id IN ({LAST_OF_EACH_KEY})")
        return
    op.execute(f"DELETE FROM metricvalue WHERE id NOT IN ({LAST_OF_EACH_KEY})")
    op.drop_index('ix_metric_lookup', table_name='metricvalue')
    op.drop_column('metricvalue', 'id')  # and its primary key with it
    op.create_primary_key('metricvalue_pkey', 'metricvalue',
                          ['enrolment_id', 'metric_id', 'at'])


def downgrade() -> None:
    if _sqlite():
        _rebuild_sqlite(keyed=False, rows=f"ORDER BY {ORDER}")
    else:
        op.drop_constraint('metricvalue_pkey', 'metricvalue', type_='primary')
        op.execute("ALTER TABLE metricvalue ADD COLUMN id INTEGER")
        op.execute(f"""UPDATE metricvalue SET id = numbered.n FROM (
            SELECT enrolment_id, metric_id, at, row_number() OVER (ORDER BY {ORDER}) AS n
            FROM metricvalue) AS numbered
            WHERE (metricvalue.enrolment_id, metricvalue.metric_id, metricvalue.at)
                = (numbered.enrolment_id, numbered.metric_id, numbered.at)""")
        op.execute("CREATE SEQUENCE metricvalue_id_seq OWNED BY metricvalue.id")
        op.execute("SELECT setval('metricvalue_id_seq', coalesce(max(id), 0) + 1, false)"
                   " FROM metricvalue")
        op.execute("ALTER TABLE metricvalue ALTER COLUMN id SET NOT NULL,"
                   " ALTER COLUMN id SET DEFAULT nextval('metricvalue_id_seq')")
        op.create_primary_key('metricvalue_pkey', 'metricvalue', ['id'])
    op.create_index('ix_metric_lookup', 'metricvalue', ['enrolment_id', 'metric_id', 'at'])
