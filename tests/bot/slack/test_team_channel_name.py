"""A team channel given by name is resolved to its id at start-up, so a thread reply and
the eyes reaction on its posts take the escalation."""

from __future__ import annotations

import pytest

from bot.settings import Settings
from bot.slack.channel_names import resolve_team_channel
from services.enrolment import enrol_client
from tests.bot.slack.conftest import SECRET, TEAM_CHANNEL, TIA, TOKEN, Slack, open_case
from tests.conftest import SAMPLE


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, program=SAMPLE,
                    slack_team_channel="#Coaching-Escalations", slack_bot_token=TOKEN,
                    slack_signing_secret=SECRET, _env_file=None)


def test_a_team_channel_named_with_a_hash_takes_thread_replies(slack: Slack):
    slack.api.add_named_channel("CGENERAL", "general")
    slack.api.add_named_channel(TEAM_CHANNEL, "coaching-escalations")
    resolve_team_channel(slack.app, slack.client)  # what `coachbot run` does first
    enrolled = enrol_client(slack.app.rt, program_id="business_12w", name="Ana Lima",
                            zone="Europe/Berlin", coach="Casey Coach")
    open_case(slack.app, enrolled.enrolment_id)
    slack.tick()
    [post] = slack.team_posts()
    assert slack.says(TIA, "on it", channel=TEAM_CHANNEL, thread_ts=post["ts"]) == 200
    assert "Acknowledged by Tia Team" in str(slack.api.calls_of("chat.update")[0]["blocks"])


def test_a_team_channel_the_bot_cannot_see_stops_the_start_in_plain_words(slack: Slack):
    with pytest.raises(RuntimeError, match="no Slack channel named #Coaching-Escalations"):
        resolve_team_channel(slack.app, slack.client)
