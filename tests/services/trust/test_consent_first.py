"""Until the client says yes, nothing they write is kept but the consent answer itself."""

from __future__ import annotations

import sqlalchemy as sa

SECRET = "my revenue is 12000 and I am burnt out"


def dump(app) -> str:
    """Every row of every table as text: what the database knows, wherever it is."""
    with app.db.connect() as connection:
        tables = sa.inspect(connection).get_table_names()
        return "\n".join(str(row) for t in tables
                         for row in connection.execute(sa.text(f'SELECT * FROM "{t}"')))


def test_what_a_client_types_before_consenting_is_not_stored_anywhere(enrol, app):
    client = enrol()
    replies = client.says(SECRET)
    assert "Sorry, I didn't get that" in replies[0]
    assert "Are you happy to go ahead" in replies[0]
    for command in ["/checkin", "/skip", "/back", "/progress"]:
        client.says(command)
    assert SECRET not in dump(app)
    with app.db.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM answer")).scalar_one() == 0
        assert connection.execute(sa.text("SELECT count(*) FROM metricvalue")).scalar_one() == 0


def test_after_no_only_the_consent_answer_and_the_decline_remain(enrol, app):
    client = enrol()
    client.says(SECRET)
    client.says("no")
    client.says("Actually here is my goal: double revenue")
    everything = dump(app)
    assert SECRET not in everything and "double revenue" not in everything
    with app.db.connect() as connection:
        answers = connection.execute(sa.text("SELECT question_id FROM answer")).all()
        consents = connection.execute(sa.text("SELECT given FROM consent")).all()
    assert [a[0] for a in answers] == ["consent"]
    assert [bool(c[0]) for c in consents] == [False]
