"""A coach answers a check-in in its Slack thread; the client on Telegram gets it and
answers back into the thread. What cannot or must not be relayed is not."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.settings import Settings
from bot.slack.dm_join import join_on_slack
from services.enrolment import enrol_client
from storage.db import session
from storage.models import AuditEntry, RelayedMessage
from storage.staff import add_staff
from tests.bot.slack.conftest import ANA, COACH, SECRET, STRANGER, TEAM_CHANNEL, TIA, TOKEN, Slack
from tests.bot.telegram.conftest import TOKEN as TELEGRAM_TOKEN
from tests.bot.telegram.conftest import (  # noqa: F401 (fixtures)
    run_bot,
    telegram_api,
    telegram_user,
)
from tests.conftest import INTAKE, SAMPLE
from tests.fakes.telegram_api import FakeTelegramAPI

COACH_DM = f"D{COACH}"
CHECKIN = ["/checkin", "3", "clients went quiet", "2500", "yes", "1",
           "R&D ate my week <!channel> *sorry*"]


@pytest.fixture
def settings(db_url: str, telegram_api: FakeTelegramAPI) -> Settings:  # noqa: F811
    """Slack for the coach and the team, Telegram for the client."""
    return Settings(database_url=db_url, program=SAMPLE, slack_team_channel=TEAM_CHANNEL,
                    slack_bot_token=TOKEN, slack_signing_secret=SECRET,
                    telegram_token=TELEGRAM_TOKEN, telegram_api_url=telegram_api.url,
                    _env_file=None)


@pytest.fixture
def ana(slack: Slack, run_bot, telegram_user, enrol):  # noqa: F811
    """Ana on Telegram, coached by Casey, through intake and one check-in."""
    run_bot()
    code = enrol("Ana Lima", join=False).enrolled.code
    client = telegram_user(4242)
    client.sends(f"/start {code}")
    client.presses("Yes")
    for typed in [*INTAKE[1:], *CHECKIN]:
        client.sends(typed)
    slack.deliver()
    return client


def _card(slack: Slack) -> dict:
    [card] = [m for m in slack.api.posted_messages(COACH) if not m.get("thread_ts")]
    return card


def _ephemerals(slack: Slack) -> list[str]:
    return [c["text"] for c in slack.api.calls_of("chat.postEphemeral")]


def test_a_coach_answers_a_checkin_in_its_thread_and_the_telegram_client_answers_back(
        slack: Slack, ana):
    card = _card(slack)
    # Titles and units from the program, ✓ for yes; the client's words escaped exactly
    # once: no mention, no formatting ("*" kept literal by a zero-width space).
    assert card["blocks"][0]["text"]["text"] == (
        "*Check-in: Ana Lima, week 1*\n"
        "Confidence: 3/10\n"
        "blocker: clients went quiet\n"
        "Weekly revenue: 2500 EUR\n"
        "Planned outreach done: ✓\n"
        "focus: Sales\n"
        "note: R&amp;D ate my week &lt;!channel&gt; *\u200bsorry*\u200b")
    assert "Reply in this thread" in str(card["blocks"])

    # Casey replies in the card's thread, with Slack's own markup in it.
    assert slack.says(COACH, "Well done <@UTIA>! R&amp;D can wait, see <https://x.io|this>",
                      channel=COACH_DM, thread_ts=card["ts"]) == 200
    [got] = ana.replies_to(None)
    assert got == "From your coach: Well done @someone! R&D can wait, see this (https://x.io)"
    sent = ana.received[-1]
    assert "parse_mode" not in sent and "entities" not in sent

    # Ana's next message goes back into the thread, and she is told so.
    assert ana.sends("Thanks, will do <!here>") == ["Sent to your coach."]
    slack.deliver()
    [back] = [m for m in slack.api.posted_messages(COACH) if m.get("thread_ts") == card["ts"]]
    assert back["text"] == "Ana Lima: Thanks, will do &lt;!here&gt;"
    # A message after that is an ordinary one again.
    assert "nothing to answer" in ana.sends("hello?")[0]

    with session(slack.app.db) as s:
        directions = [r.direction for r in s.exec(select(RelayedMessage)
                                                  .order_by(RelayedMessage.id))]
        actions = [a.action for a in s.exec(select(AuditEntry).where(
            AuditEntry.action.like("%relayed")).order_by(AuditEntry.id))]
    assert directions == ["card", "to_client", "to_coach"]
    assert actions == ["coach_message_relayed", "client_message_relayed"]


def test_a_reply_by_someone_else_in_a_coach_thread_is_never_relayed(slack: Slack, ana):
    card = _card(slack)
    before = len(ana.received)
    slack.says(STRANGER, "hi Ana, buy my course", channel=COACH_DM, thread_ts=card["ts"])
    slack.says(TIA, "ack", channel=COACH_DM, thread_ts=card["ts"])
    ana.replies_to(None)
    assert len(ana.received) == before
    assert _ephemerals(slack) == []


def test_a_coach_reply_to_a_paused_or_erased_client_is_refused_privately(slack: Slack, ana):
    card = _card(slack)
    assert "Paused" in ana.sends("/pause")[0]
    slack.says(COACH, "How are you?", channel=COACH_DM, thread_ts=card["ts"])
    assert "paused the program" in _ephemerals(slack)[-1]
    ana.sends("/resume")
    ana.sends("/delete")
    ana.sends("/delete confirm")
    before = len(ana.received)
    slack.says(COACH, "Are you there?", channel=COACH_DM, thread_ts=card["ts"])
    assert "erased their data" in _ephemerals(slack)[-1]
    ana.replies_to(None)
    assert len(ana.received) == before
    with session(slack.app.db) as s:
        left = [(r.direction, r.enrolment_id, r.text) for r in s.exec(select(RelayedMessage))]
    assert left == [("card", None, "")]


def test_a_coach_with_a_checkins_channel_answers_a_slack_client_from_there(slack: Slack):
    app = slack.app
    slack.api.add_channel("CCASEY")  # the coach's own channel, which the bot was invited to
    with session(app.db) as s, s.begin():
        add_staff(s, name="Casey Coach", slack_id=COACH, role="coach",
                  timezone="Europe/Berlin", now=app.clock.now(), checkin_channel="CCASEY")
    enrolled = enrol_client(app.rt, program_id="business_12w", name="Ana Lima",
                            zone="Europe/Berlin", coach="Casey Coach")
    join_on_slack(app, enrolled, ANA)
    for typed in ["yes", *INTAKE[1:-1], "skip", "checkin", "8", "-", "900", "no", "1",
                  "ok"]:
        slack.says(ANA, typed, channel=f"D{ANA}")
    [card] = slack.api.posted_messages("CCASEY")
    assert slack.says(COACH, "Try *this* <!everyone>", channel="CCASEY",
                      thread_ts=card["ts"]) == 200
    got = slack.api.posted_messages(ANA)[-1]
    # Delivered to a Slack client as text, escaped again for her side: nothing injected.
    assert got["text"] == "From your coach: Try *\u200bthis*\u200b @someone"
    assert slack.says(ANA, "Will do", channel=f"D{ANA}") == 200
    [back] = [m for m in slack.api.posted_messages("CCASEY") if m.get("thread_ts")]
    assert back["thread_ts"] == card["ts"] and back["text"] == "Ana Lima: Will do"
