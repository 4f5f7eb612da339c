"""Coaches see only their own clients, and every staff read of a client is in the audit log."""

from __future__ import annotations

from sqlmodel import select

from services.enrolment import enrol_client
from storage.db import session
from storage.models import AuditEntry
from storage.staff import add_staff
from tests.bot.slack.conftest import COACH, TIA, Slack, api, settings, slack  # noqa: F401


def test_another_coach_cannot_read_a_client_and_every_read_is_audited(
        slack: Slack):  # noqa: F811
    app = slack.app
    with session(app.db) as s, s.begin():
        add_staff(s, name="Dee Coach", slack_id="UDEE", role="coach", timezone="UTC",
                  now=app.clock.now())
    enrol_client(app.rt, program_id="business_12w", name="Ana Lima", zone="Europe/Berlin",
                 coach="Casey Coach")
    assert slack.command("UDEE", "client Ana Lima")["text"] == "You have no client by that name."
    assert slack.command(TIA, "client Ana Lima")["text"] == "You have no client by that name."
    assert slack.command("UDEE", "escalate Ana Lima help")["text"] == \
        "You have no client by that name."
    assert "Ana Lima: Grow" in slack.command(COACH, "client Ana Lima")["text"]
    with session(app.db) as s:
        views = list(s.exec(select(AuditEntry).where(AuditEntry.action == "client_viewed")))
    assert len(views) == 1 and views[0].enrolment_id is not None
