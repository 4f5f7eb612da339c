"""A check-in left unanswered changes the engagement metrics with no answer arriving: the
scheduler marks it missed, the decisions sweep recomputes and stores the new values."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from services.decisions import Sweep
from services.touchpoints import TouchpointRunner
from storage import metric_store as metrics
from storage.db import session
from storage.models import PlannedTouchpoint
from tests.conftest import CHECKIN_GOOD

pytestmark = pytest.mark.slow  # started first, so it does not end the run alone


def test_missed_checkins_lower_the_response_rate_and_break_the_streak(app, client, clock):
    runner = TouchpointRunner(app.rt, worker="test-worker")
    sweep = Sweep(app.rt)
    answered = False
    end = clock.now() + timedelta(weeks=4)
    while clock.now() < end:
        runner.tick(clock.now())
        replies = client.flush()
        if not answered and any(r.question == "confidence" for r in replies):
            for text in CHECKIN_GOOD:
                client.says(text)
            answered = True
        sweep.run(clock.now())
        clock.advance(timedelta(hours=1))

    with session(app.db) as s:
        statuses = [r.status for r in s.exec(
            select(PlannedTouchpoint).where(PlannedTouchpoint.touchpoint_id == "weekly_checkin",
                                            PlannedTouchpoint.kind == "send",
                                            PlannedTouchpoint.status.in_(("done", "missed"))))]  # type: ignore[attr-defined]
        latest = metrics.latest_values(s, _enrolment(client))
        rates = [v.value for v in metrics.stored_series(s, _enrolment(client), "response_rate")]
    missed = statuses.count("missed")
    assert answered and missed >= 2
    assert latest["response_rate"][0] == round(1 / (1 + missed), 4)
    assert latest["streak"][0] == 0.0
    # Stored when it changed, not on every sweep: one value per missed check-in at most.
    assert rates[0] == 1.0 and len(rates) == 1 + missed


def _enrolment(client) -> int:
    return client.enrolled.enrolment_id
