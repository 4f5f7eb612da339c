"""raw_text_once: a text answer's words are stored once, in its value

A text answer ("Grow the business", a week's note) was stored twice: as the value and as
the raw text the client typed. Where the two are the same the raw text is now "" and the
words are read from the value (storage/models.Answer.text); a raw text that differs (a
number typed "12k", a date, "yes" for true) stays as typed.

Revision ID: 0022
Revises: 0021 (0021_bare_answer_values)
"""
from alembic import op


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

# The value (bare JSON since 0021) is a string equal to the raw text.
SQLITE_TEXT = "json_type(value) = 'text' AND json_extract(value, '$') = {raw}"
POSTGRES_TEXT = "json_typeof(value) = 'string' AND value #>> '{{}}' = {raw}"


def _is_text(raw: str) -> str:
    sqlite = op.get_context().dialect.name == 'sqlite'
    return (SQLITE_TEXT if sqlite else POSTGRES_TEXT).format(raw=raw)


def _value_text() -> str:
    sqlite = op.get_context().dialect.name == 'sqlite'
    return "json_extract(value, '$')" if sqlite else "value #>> '{}'"


def upgrade() -> None:
    op.execute(f"UPDATE answer SET raw_text = '' WHERE raw_text <> '' AND {_is_text('raw_text')}")


def downgrade() -> None:
    op.execute(f"UPDATE answer SET raw_text = {_value_text()}"
               f" WHERE raw_text = '' AND {_is_text(_value_text())}")
