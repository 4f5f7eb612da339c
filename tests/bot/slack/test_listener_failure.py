"""A Slack listener that fails on a client's message logs that it failed, not what was said."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from bot.slack.dm_join import join_on_slack
from services.enrolment import enrol_client
from tests.bot.slack.conftest import ANA, Slack

GOAL = "Quietly double revenue via Zanzibar partners"


def test_a_message_the_bot_fails_to_store_is_logged_as_a_failure_without_its_words(
        slack: Slack, caplog):
    app = slack.app
    enrolled = enrol_client(app.rt, program_id="business_12w", name="Ana Lima",
                            zone="Europe/Berlin", coach="Casey Coach")
    assert join_on_slack(app, enrolled, ANA)
    slack.deliver()
    assert slack.says(ANA, "yes", channel=f"D{ANA}") == 200  # consent: next, her goal
    caplog.set_level(logging.DEBUG)
    # The answers table is away: storing her goal fails with the goal among the statement's
    # parameters.
    with app.db.begin() as connection:
        connection.execute(sa.text("ALTER TABLE answer RENAME TO answer_away"))
    try:
        slack.says(ANA, GOAL, channel=f"D{ANA}")
    finally:
        with app.db.begin() as connection:
            connection.execute(sa.text("ALTER TABLE answer_away RENAME TO answer"))
    assert "slack listener failed: " in caplog.text
    assert GOAL not in caplog.text and "Zanzibar" not in caplog.text
