"""Forged requests, retries, injection, SLA re-escalation and unreachable channels."""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta

from sqlmodel import func, select

from bot.slack.escape import mrkdwn
from services.enrolment import enrol_client
from storage.db import session
from storage.models import Escalation, InboundEvent, OutboxMessage
from tests.bot.slack.conftest import ANA, BO, TEAM_CHANNEL, TIA, Slack, open_case
from tests.fakes.slack_api import event_callback, message_event


def _ana(slack: Slack) -> int:
    return enrol_client(slack.app.rt, program_id="business_12w", name="Ana Lima",
                        zone="Europe/Berlin", coach="Casey Coach").enrolment_id


def _events_stored(slack: Slack) -> int:
    with session(slack.app.db) as s:
        return s.exec(select(func.count()).select_from(InboundEvent)).one()


def test_unsigned_forged_and_stale_requests_get_401_and_change_nothing(slack: Slack):
    case_id = open_case(slack.app, _ana(slack))
    slack.tick()
    [post] = slack.team_posts()
    body = json.dumps(event_callback(message_event(TIA, "ack", TEAM_CHANNEL,
                                                   thread_ts=post["ts"]))).encode()
    assert slack.post(body, "application/json", sign=False)[0] == 401
    forged = {"X-Slack-Signature": "v0=" + "0" * 64,
              "X-Slack-Request-Timestamp": str(int(time.time()))}
    assert slack.post(body, "application/json", sign=False, headers=forged)[0] == 401
    stale = int(time.time()) - 10 * 60  # Slack's replay window is five minutes
    assert slack.post(body, "application/json", timestamp=stale)[0] == 401
    assert _events_stored(slack) == 0
    with session(slack.app.db) as s:
        assert s.get(Escalation, case_id).acknowledged_at is None
    assert slack.api.calls_of("chat.update") == []


def test_client_text_cannot_inject_mentions_links_or_formatting(slack: Slack):
    hostile = "<!channel> <!here> <@U1> *bold* <https://evil.test|click> & more"
    open_case(slack.app, _ana(slack), reason=hostile)
    slack.tick()
    [post] = slack.team_posts()
    for text in [post["text"], json.dumps(post["blocks"])]:
        for injected in ["<!channel>", "<!here>", "<@U1>", "<https://evil.test", "*bold*"]:
            assert injected not in text
    assert "&lt;!channel&gt;" in post["text"] and "&amp; more" in post["text"]
    assert mrkdwn("*bold*") != "*bold*"


def test_unacknowledged_past_its_sla_goes_to_the_backup_once_per_level(slack: Slack, clock):
    open_case(slack.app, _ana(slack), sla=timedelta(hours=4))
    slack.tick()
    [post] = slack.team_posts()
    clock.advance(timedelta(hours=3, minutes=59))
    slack.tick()
    assert slack.thread(post["ts"]) == []
    clock.advance(timedelta(minutes=1))
    slack.tick()
    slack.tick()  # every minute: the same level is not reposted
    [again] = slack.thread(post["ts"])
    assert f"<@{BO}>" in again["text"] and "reminder 1" in again["text"]
    clock.advance(timedelta(hours=4))
    slack.tick()
    assert len(slack.thread(post["ts"])) == 2
    # Acknowledged: no more reminders.
    slack.says(TIA, "mine", channel=TEAM_CHANNEL, thread_ts=post["ts"])
    clock.advance(timedelta(hours=4))
    slack.tick()
    assert len(slack.thread(post["ts"])) == 2


def test_a_missing_channel_is_reported_in_plain_words_and_not_lost(slack: Slack, caplog):
    slack.api.fail_next("chat.postMessage", "channel_not_found")
    open_case(slack.app, _ana(slack))
    with caplog.at_level(logging.ERROR, logger="coachbot.slack"):
        slack.tick()
    assert "does not exist or the bot cannot see it" in caplog.text
    assert slack.team_posts() == []
    slack.app.clock.advance(timedelta(minutes=1))
    slack.tick()  # kept and retried after a backoff: the next minute posts it
    assert len(slack.team_posts()) == 1


def test_a_dm_to_a_missing_user_is_given_up_with_an_error_and_no_row_of_the_stranger(
        slack: Slack, caplog):
    slack.api.fail_next("chat.postMessage", "user_not_found")
    slack.says("UNEW", "hello", channel="DUNEW")
    with caplog.at_level(logging.WARNING):
        slack.deliver()
    assert "does not exist in this workspace" in caplog.text
    assert "undeliverable outbox=1 channel=slack reason=user_not_found" in caplog.text
    with session(slack.app.db) as s:
        assert s.exec(select(OutboxMessage)).all() == []  # a stranger leaves nothing



def test_a_client_answer_slack_sends_again_is_taken_once(slack: Slack):
    enrolled = enrol_client(slack.app.rt, program_id="business_12w", name="Ana Lima",
                            zone="Europe/Berlin", coach="Casey Coach")
    for text in [f"/start {enrolled.code}", "yes", "Double my revenue", "12000"]:
        assert slack.says(ANA, text, channel=f"D{ANA}") == 200
    assert slack.says(ANA, "6", channel=f"D{ANA}", event_id="EvSIX") == 200
    taken = slack.answers(enrolled.enrolment_id)
    replies = len(slack.api.posted_messages(ANA))
    # Slack missed our ack and sends the same event twice more. Taken again, "6" would be
    # a valid answer to the next question too: only the event id tells them apart.
    for retry in (1, 2):
        assert slack.says(ANA, "6", channel=f"D{ANA}", event_id="EvSIX", retry=retry) == 200
    assert slack.answers(enrolled.enrolment_id) == taken
    assert len(slack.api.posted_messages(ANA)) == replies
    with session(slack.app.db) as s:
        assert s.exec(select(InboundEvent).where(InboundEvent.event_id == "EvSIX")).one()


def test_slash_escalate_posts_to_the_team_channel(slack: Slack):
    _ana(slack)
    answer = slack.command(TIA, "escalate Ana Lima asked for a refund")
    assert "Escalation #1 opened for Ana Lima" in answer["text"]
    [post] = slack.team_posts()
    assert "asked for a refund" in post["text"]
    assert "Only listed" in slack.command("USTRANGER", "digest")["text"]
