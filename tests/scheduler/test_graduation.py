"""The end of the journey: a client who reaches the last stage has graduated (alumni)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.db import session
from storage.models import Enrolment
from tests.scheduler.conftest import onboarded, rows, started

pytestmark = pytest.mark.slow  # started first, so it does not end the run alone


def test_a_client_who_reaches_the_alumni_stage_has_graduated_and_is_congratulated(
        app, enrol, travel):
    client = onboarded(enrol)
    # Onboarding (7 days), 12 active weeks, the final review week: alumni on 8 June.
    travel(datetime(2026, 6, 7, 0, 0, tzinfo=UTC), client, step=timedelta(hours=6))
    with session(app.db) as s:
        assert s.get(Enrolment, client.enrolled.enrolment_id).status == "active"
    travel(datetime(2026, 6, 9, 0, 0, tzinfo=UTC), client, step=timedelta(minutes=30))

    with session(app.db) as s:
        enrolment = s.get(Enrolment, client.enrolled.enrolment_id)
    assert (enrolment.stage, enrolment.status) == ("alumni", "graduated")
    congratulated = started(client, "you've graduated")
    assert [c.local("Europe/Berlin").strftime("%a %d %b %H:%M") for c in congratulated] == [
        "Mon 08 Jun 10:00"]
    [graduation] = rows(app, "graduation")
    assert graduation.status == "done"
    # Alumni get no more check-ins.
    assert not [r for r in rows(app, "weekly_checkin")
                if r.status == "planned" and r.due_at > datetime(2026, 6, 8, tzinfo=UTC)]
