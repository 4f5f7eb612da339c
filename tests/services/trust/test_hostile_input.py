"""Oversized, binary-looking and forwarded messages: a kind re-ask, nothing stored that was
not asked for, and no crash on either database."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import col, select

from storage.db import session
from storage.models import Answer

BIG = "A" * 64 * 1024
BINARY = "\x00\x01\x02\x7f\x1b[31m\ufffd\ufffe" + "".join(map(chr, range(0x80, 0xa0))) + "\x00"


def dump(app) -> str:
    with app.db.connect() as connection:
        tables = sa.inspect(connection).get_table_names()
        return "\n".join(str(row) for t in tables
                         for row in connection.execute(sa.text(f'SELECT * FROM "{t}"')))


def answers(app) -> list[tuple]:
    """Each stored answer's question and the text it keeps of what the client typed."""
    with session(app.db) as s:
        return [(a.question_id, a.text) for a in s.exec(select(Answer).order_by(col(Answer.id)))]


def test_a_64_kb_message_gets_a_re_ask_and_is_not_stored(enrol, app):
    client = enrol()
    client.says("yes")
    replies = client.says(BIG)  # to "In your own words...", a text question
    assert "please keep it under" in replies[0]
    assert "In your own words" in replies[0]
    assert BIG[:5000] not in dump(app)
    client.says("Double my revenue")
    replies = client.says(BIG)  # to a number question
    assert "longer than I can read" in replies[0]
    assert [q for q, _ in answers(app)] == ["consent", "goal"]


def test_binary_looking_text_is_refused_where_a_number_is_asked(enrol, app):
    client = enrol()
    client.says("yes")
    client.says("Double my revenue")
    replies = client.says(BINARY)
    assert "Sorry, I didn't get that" in replies[0]
    assert [q for q, _ in answers(app)] == ["consent", "goal"]


def test_control_characters_in_a_text_answer_are_dropped_before_storing(enrol, app):
    client = enrol()
    client.says("yes")
    replies = client.says("Double\x00 my\x1b revenue" + BINARY)
    assert "monthly revenue today" in replies[-1]
    [(_, stored)] = [a for a in answers(app) if a[0] == "goal"]
    assert "\x00" not in stored and "\x1b" not in stored
    assert stored.startswith("Double my revenue")


def test_a_lone_surrogate_in_an_answer_is_stored_as_a_replacement_character(enrol, app):
    client = enrol()
    client.says("yes")
    # A client's JSON may carry "\ud800", which no database can store: the answer still is.
    replies = client.says("Double \ud800 my\x00 revenue")
    assert "monthly revenue today" in replies[-1]
    [(_, stored)] = [a for a in answers(app) if a[0] == "goal"]
    assert stored == "Double \ufffd my revenue"
