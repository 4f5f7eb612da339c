"""Coaching sessions bring their prep and follow-up; the bot's clock job is set up once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.serve import periodic_work
from scheduler.jobs import FOLD_WAL, RETENTION, SWEEP, TICK, start_jobs
from services.coaching_sessions import BookingError, book_session
from tests.scheduler.conftest import onboarded, seen_of, started


def test_session_prep_comes_a_day_before_and_the_follow_up_two_hours_after(app, enrol,
                                                                           travel):
    client = onboarded(enrol)
    booked = book_session(app.rt, client="Ana Lima", local_time="2026-03-05 15:00")
    assert booked.at == datetime(2026, 3, 5, 14, 0, tzinfo=UTC)
    travel(datetime(2026, 3, 6, 0, 0, tzinfo=UTC), client, step=timedelta(minutes=15))
    prep = started(client, "Your coaching session is tomorrow")
    follow_up = started(client, "Thanks for today's session")
    assert [s.local("Europe/Berlin").strftime("%a %H:%M") for s in prep] == ["Wed 15:00"]
    assert [s.local("Europe/Berlin").strftime("%a %H:%M") for s in follow_up] == ["Thu 17:00"]
    assert seen_of(client)


def test_booking_needs_a_known_client_and_a_future_time(app, enrol):
    enrol("Ana Lima")
    with pytest.raises(BookingError, match="no client"):
        book_session(app.rt, client="Nobody Here", local_time="2026-03-05 15:00")
    with pytest.raises(BookingError, match="passed"):
        book_session(app.rt, client="Ana Lima", local_time="2026-03-01 15:00")


def test_the_clock_job_has_one_fixed_id_and_never_overlaps(app):
    async def started_scheduler():
        scheduler = start_jobs(app.clock, periodic_work(app))
        try:
            return [(j.id, j.max_instances, j.coalesce) for j in scheduler.get_jobs()]
        finally:
            scheduler.shutdown(wait=False)

    # Besides the tick: the decisions sweep (missed check-ins, days without a reply) and
    # other maintenance jobs, each with a fixed id, one instance at a time.
    jobs = asyncio.run(started_scheduler())
    assert {TICK.name, SWEEP.name, RETENTION.name, FOLD_WAL.name} <= {
        job_id for job_id, _, _ in jobs}
    assert all((instances, coalesce) == (1, True) for _, instances, coalesce in jobs)
