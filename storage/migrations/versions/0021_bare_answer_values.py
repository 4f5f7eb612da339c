"""bare_answer_values: an answer's value is stored as its JSON alone

`{"v": 7}` becomes `7`, `{"v": "sales"}` becomes `"sales"` (storage/types.AnswerValue puts
the wrapper back when a row is read): 7 bytes less in every answer row. On SQLite the
column's NUMERIC affinity then stores a number as a number.

Revision ID: 0021
Revises: 0020 (0020_metric_value_key)
"""
from alembic import op


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

# json_type and json_extract, not `->`: they are in SQLite since 3.9, `->` only since 3.38.
# A value without "v" (none is written so) read as None, and is stored as null.
SQLITE_BARE = """UPDATE answer SET value = CASE json_type(value, '$.v')
    WHEN 'text' THEN json_quote(json_extract(value, '$.v'))
    WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'
    WHEN 'null' THEN 'null'
    ELSE coalesce(json_extract(value, '$.v'), 'null') END"""


def upgrade() -> None:
    if op.get_context().dialect.name == 'sqlite':
        op.execute(SQLITE_BARE)
    else:
        op.execute("UPDATE answer SET value = coalesce(value -> 'v', 'null'::json)")


def downgrade() -> None:
    if op.get_context().dialect.name == 'sqlite':
        op.execute("UPDATE answer SET value = json_object('v', json(value))")
    else:
        op.execute("UPDATE answer SET value = json_build_object('v', value)")
