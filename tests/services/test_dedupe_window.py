"""The record of handled platform events is kept for a window (7 days by default) and then
dropped by the daily retention pass: within the window a redelivery changes nothing, and
the table does not grow forever."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from bot.serve import periodic_work
from conversations.messages import Inbound
from scheduler.jobs import RETENTION
from services.retention import forget_old_events


def events(app) -> int:
    with app.db.connect() as connection:
        return connection.execute(sa.text("SELECT count(*) FROM inboundevent")).scalar_one()


def test_a_redelivery_within_the_window_is_refused_and_old_events_are_dropped_daily(
        enrol, app, clock):
    ana = enrol("Ana Lima")
    hello = Inbound(channel="test", sender=ana.address, event_id="tg:m:first", text="yes")
    assert app.inbound.handle(hello).outcome == "handled"
    daily = periodic_work(app)[RETENTION]

    clock.advance(timedelta(days=6, hours=23))
    daily()
    assert app.inbound.handle(hello).outcome == "duplicate"

    clock.advance(timedelta(days=1))
    before = events(app)
    daily()
    assert events(app) < before
    with app.db.connect() as connection:
        kept = connection.execute(sa.text(
            "SELECT count(*) FROM inboundevent WHERE event_id = 'tg:m:first'")).scalar_one()
    assert kept == 0


def test_a_redelivery_at_exactly_the_end_of_the_window_is_still_refused(enrol, app, clock):
    ana = enrol("Ana Lima")
    hello = Inbound(channel="test", sender=ana.address, event_id="tg:m:edge", text="yes")
    assert app.inbound.handle(hello).outcome == "handled"
    clock.advance(timedelta(days=7))
    assert forget_old_events(app.rt, 7) == 0
    assert app.inbound.handle(hello).outcome == "duplicate"
    clock.advance(timedelta(seconds=1))
    before = events(app)  # the join's and the answer's, all of that first moment
    assert forget_old_events(app.rt, 7) == before >= 2
    assert events(app) == 0


def test_an_event_id_longer_than_its_column_is_kept_as_its_first_128_characters(enrol, app):
    """A platform's id that outgrows the column is cut, not refused (PostgreSQL would refuse
    129 characters), and its redelivery is still recognised."""
    ana = enrol("Ana Lima")
    long_id = "slack:" + "e" * 200
    hello = Inbound(channel="test", sender=ana.address, event_id=long_id, text="yes")
    assert app.inbound.handle(hello).outcome == "handled"
    assert app.inbound.handle(hello).outcome == "duplicate"
    with app.db.connect() as connection:
        stored = connection.execute(sa.text(
            "SELECT event_id FROM inboundevent WHERE event_id LIKE 'slack:%'")).scalars().all()
    assert stored == [long_id[:128]]
