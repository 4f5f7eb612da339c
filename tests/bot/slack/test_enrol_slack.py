"""`coachbot enroll ... --slack-id U456`: a DM is opened and intake starts there, no code to
pass on; a wrong id or a staff member's id stops it before anything is stored."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.slack.slack_sender import async_web_client, drain_slack
from storage.db import make_engine, session
from storage.models import Enrolment, Identity, Person
from storage.staff import add_staff
from tests.bot.slack.conftest import TOKEN
from tests.conftest import SAMPLE
from tests.fakes.slack_api import FakeSlackAPI

CLIENT = "U456"


@pytest.fixture
def enroll(db_url: str, api: FakeSlackAPI):
    env = {"COACHBOT_DATABASE_URL": db_url, "COACHBOT_PROGRAM": str(SAMPLE),
           "COACHBOT_SLACK_BOT_TOKEN": TOKEN, "COACHBOT_SLACK_API_URL": api.base_url,
           "COACHBOT_TELEGRAM_TOKEN": "", "COLUMNS": "320"}

    def _enroll(slack_id: str = CLIENT):
        return CliRunner().invoke(cli, ["enroll", "--program", "business_12w", "--name",
                                        "Ana Lima", "--tz", "Europe/Berlin", "--coach",
                                        "Casey Coach", "--slack-id", slack_id], env=env,
                                  catch_exceptions=False)

    return _enroll


def _deliver(db_url: str, api: FakeSlackAPI) -> None:
    """The Slack runner's outbox drain, once."""
    from scheduler.clock import SystemClock
    from services.unit_of_work import Runtime

    rt = Runtime(db=make_engine(db_url), clock=SystemClock(), programs={})

    async def run() -> None:
        client = async_web_client(TOKEN, api.base_url)
        while await drain_slack(rt, client):
            pass
    try:
        asyncio.run(run())
    finally:
        rt.db.dispose()


def _clients(db_url: str) -> list[tuple[str, str]]:
    engine = make_engine(db_url)
    try:
        with session(engine) as s:
            return [(p.name, e.status) for e, p in s.exec(select(Enrolment, Person).join(
                Person, Person.id == Enrolment.person_id))]
    finally:
        engine.dispose()


def test_enrolling_with_a_slack_id_starts_intake_in_a_dm(enroll, api, db_url):
    api.add_user(CLIENT)
    result = enroll()
    assert result.exit_code == 0, result.stdout
    assert "intake is queued in their DM" in result.stdout
    [opened] = api.calls_of("conversations.open")
    assert opened["users"] == CLIENT
    assert _clients(db_url) == [("Ana Lima", "consent")]  # joined: no code to type
    _deliver(db_url, api)
    question = api.posted_messages(CLIENT)[-1]
    labels = [e["text"]["text"] for b in question["blocks"] if b["type"] == "actions"
              for e in b["elements"]]
    assert "Yes" in labels  # the consent question, with its buttons
    engine = make_engine(db_url)
    with session(engine) as s:
        identity = s.exec(select(Identity).where(Identity.address == CLIENT)).one()
        assert identity.channel == "slack"
    engine.dispose()


def test_a_user_slack_does_not_know_stops_it_in_plain_words(enroll, api, db_url):
    result = enroll("UNOBODY")  # not a member: the fake answers user_not_found, as Slack does
    assert result.exit_code != 0
    assert "does not exist in this workspace" in result.output
    assert _clients(db_url) == []


def test_a_coachs_slack_id_is_refused(enroll, api, db_url, clock):
    engine = make_engine(db_url)
    with session(engine) as s, s.begin():
        add_staff(s, name="Casey Coach", slack_id="UCOACH", role="coach",
                  timezone="Europe/Berlin", now=clock.now())
    engine.dispose()
    result = enroll("UCOACH")
    assert result.exit_code != 0
    assert "is a coach or team member" in result.output
    assert _clients(db_url) == []
