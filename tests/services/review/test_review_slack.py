"""`coachbot review --to-slack`: the program owner gets the summary and the HTML file in a DM
(the fake Slack Web API records both); without a program owner the team channel does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.slack_api import FakeSlackAPI
from tests.services.review.conftest import coachbot

Q3 = ("review", "--quarter", "2026Q3", "--to-slack")


@pytest.fixture
def api() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI(channels=("CTEAM",), users=("UPAT",)) as fake:
        yield fake


@pytest.fixture
def slack(api: FakeSlackAPI) -> dict[str, str]:
    return {"COACHBOT_SLACK_BOT_TOKEN": "xoxb-test", "COACHBOT_SLACK_API_URL": api.base_url}


def the_file(api: FakeSlackAPI) -> dict:
    [completed] = api.calls_of("files.completeUploadExternal")
    [item] = completed["files"]
    return api.uploaded_file(item["id"])


def test_the_program_owner_gets_the_summary_and_the_page(seeded_sqlite, api, slack):
    added = coachbot(seeded_sqlite, "staff", "add", "--name", "Pat Owner", "--slack-id", "UPAT",
                     "--role", "program_owner", "--tz", "Europe/London", env=slack)
    assert added.exit_code == 0, added.output
    result = coachbot(seeded_sqlite, *Q3, env=slack, columns=200)
    assert result.exit_code == 0, result.output
    assert result.output == "Review of 2026Q3 sent to Pat Owner (UPAT) in Slack.\n"
    [message] = api.posted_messages("DUPAT")
    assert message["text"].startswith("Quarterly review 2026Q3 of Grow: 12-week business "
                                      "coaching: Session prep: answered within SLA 50%")
    texts = [b["text"]["text"] for b in message["blocks"] if "text" in b]
    assert texts[0] == "Quarterly review 2026Q3: Grow: 12-week business coaching"
    assert texts[1] == ("*16 clients* had a touchpoint due (2026Q2: 6). Check-in response 73% "
                        "(2026Q2: 93%).")
    assert texts[2] == ("*Weakest touchpoints*\n"
                        "• Session prep: answered within SLA 50%, owner coach\n"
                        "• Final review: answered within SLA 67%, owner coach\n"
                        "• Weekly check-in: answered within SLA 70%, owner coach")
    assert texts[3] == "*The fade*\nresponse falls from 100% to 40% between weeks 5 and 7"
    assert texts[4] == ("*Metrics to drop* (no rule reads them, no report shows them)\n"
                        "`response_rate`, `outreach_done`")
    uploaded = the_file(api)
    assert (uploaded["filename"], uploaded["channel_id"]) == ("coachbot-review-2026Q3.html",
                                                              "DUPAT")
    assert uploaded["data"].startswith(b"<!doctype html>")


def test_without_a_program_owner_the_team_channel_gets_it(seeded_sqlite, api, slack):
    team = {**slack, "COACHBOT_SLACK_TEAM_CHANNEL": "CTEAM"}
    result = coachbot(seeded_sqlite, *Q3, env=team, columns=200)
    assert result.output == "Review of 2026Q3 sent to the team channel (CTEAM) in Slack.\n"
    assert len(api.posted_messages("CTEAM")) == 1
    assert the_file(api)["channel_id"] == "CTEAM"


def test_with_nobody_to_send_it_to_nothing_is_worked_out(seeded_sqlite, api, slack):
    result = coachbot(seeded_sqlite, *Q3, env=slack, columns=200)
    assert result.exit_code == 2
    assert result.output == ("error: no one to send the review to: add a program owner "
                             "(coachbot staff add --role program_owner ...) or set "
                             "COACHBOT_SLACK_TEAM_CHANNEL\n")
    assert api.calls == []
    no_token = coachbot(seeded_sqlite, *Q3, columns=200)
    assert no_token.output == ("error: --to-slack needs COACHBOT_SLACK_BOT_TOKEN (see "
                               "docs/slack.md)\n")


def test_a_channel_the_bot_cannot_post_in_is_explained(seeded_sqlite, api, slack):
    api.fail_next("chat.postMessage", "not_in_channel")
    team = {**slack, "COACHBOT_SLACK_TEAM_CHANNEL": "CTEAM"}
    result = coachbot(seeded_sqlite, *Q3, env=team, columns=200)
    assert result.exit_code == 2
    assert result.output == ("error: Slack did not take the review: the bot is not a member "
                             "of CTEAM; invite it with /invite @coachbot\n")
