"""Weeks of check-ins, answered and missed: each evaluation reads only what came after the
client's running aggregate, and stores exactly what an evaluation from the whole history
would (forgetting the aggregate and evaluating again finds nothing to store)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import col, select

from services.decisions import Sweep, reevaluate
from services.touchpoints import TouchpointRunner
from storage import aggregate_store
from storage.db import session
from storage.models import Enrolment, MetricAggregate, MetricValue, PlannedTouchpoint
from tests.conftest import CHECKIN_GOOD


def stored_values(app, enrolment_id: int) -> list[tuple[str, float]]:
    with session(app.db) as s:
        return [(v.metric_id, v.value) for v in s.exec(
            select(MetricValue).where(MetricValue.enrolment_id == enrolment_id)
            .order_by(col(MetricValue.at), col(MetricValue.metric_id)))]


def next_due(app) -> datetime | None:
    """The next moment the tick has work: a stored row due, or the plan's next stretch
    (rows are stored only a few days ahead)."""
    with session(app.db) as s:
        row = s.exec(select(PlannedTouchpoint.due_at)
                     .where(PlannedTouchpoint.status == "planned")
                     .order_by(col(PlannedTouchpoint.due_at)).limit(1)).first()
        replan = s.exec(select(Enrolment.replan_at).where(col(Enrolment.replan_at).is_not(None))
                        .order_by(col(Enrolment.replan_at)).limit(1)).first()
    return min((m for m in (row, replan) if m is not None), default=None)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_aggregate_keeps_up_and_agrees_with_the_whole_history(app, client, clock):
    runner, sweep = TouchpointRunner(app.rt, worker="test-worker"), Sweep(app.rt)
    enrolment_id = client.enrolled.enrolment_id
    start, asked = clock.now(), 0
    runner.tick(clock.now())  # plans the journey
    while (due := next_due(app)) is not None and due < start + timedelta(weeks=4):
        clock.set(max(clock.now(), due) + timedelta(minutes=1))  # straight to the next row
        runner.tick(clock.now())
        if any(r.question == "confidence" for r in client.flush()):
            asked += 1
            # The third check-in and its two reminders go unanswered: it is found missed.
            if asked not in (3, 4, 5):
                for text in CHECKIN_GOOD:
                    client.says(text)
        sweep.run(clock.now())

    with session(app.db) as s:
        kept = s.get(MetricAggregate, enrolment_id)
    assert asked >= 6 and kept is not None
    # The settled part reaches past the missed week: later evaluations start after it.
    assert datetime.fromisoformat(kept.state["checkins_from"]) > start + timedelta(weeks=3)
    before = stored_values(app, enrolment_id)
    assert [v for m, v in before if m == "response_rate"][-1] < 1.0  # the missed week counts

    with app.rt.transaction() as uow:
        aggregate_store.forget(uow.session, [enrolment_id])
    outcome = reevaluate(app.rt, enrolment_id)
    assert outcome is not None and outcome.stored == 0 and outcome.fired == []
    assert stored_values(app, enrolment_id) == before
