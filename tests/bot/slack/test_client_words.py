"""A Slack client checks in with plain words, with buttons and inside a thread of the DM."""

from __future__ import annotations

from datetime import timedelta

from bot.slack.dm_join import join_on_slack
from services.enrolment import enrol_client
from services.touchpoints import TouchpointRunner
from tests.bot.slack.conftest import ANA, Slack

DM = f"D{ANA}"


def _buttons(message: dict) -> dict[str, tuple[str, str, str]]:
    """label -> (action id, block id, value) of every button of a posted message."""
    return {e["text"]["text"]: (e["action_id"], block["block_id"], e["value"])
            for block in message.get("blocks", []) if block["type"] == "actions"
            for e in block["elements"]}


def _last(slack: Slack) -> dict:
    return slack.api.posted_messages(ANA)[-1]


def _press(slack: Slack, label: str, message: dict | None = None) -> str:
    message = message or _last(slack)
    action_id, block_id, value = _buttons(message)[label]
    assert slack.clicks(ANA, action_id, value, channel=DM, ts=message["ts"],
                        block_id=block_id) == 200
    return _last(slack)["text"]


def _say(slack: Slack, text: str, *, thread_ts: str | None = None) -> str:
    assert slack.says(ANA, text, channel=DM, thread_ts=thread_ts) == 200
    return _last(slack)["text"]


def test_a_slack_client_checks_in_with_words_buttons_and_a_thread_reply(slack: Slack):
    app = slack.app
    enrolled = enrol_client(app.rt, program_id="business_12w", name="Ana Lima",
                            zone="Europe/Berlin", coach="Casey Coach")
    assert join_on_slack(app, enrolled, ANA)
    slack.deliver()
    assert "In your own words" in _press(slack, "Yes")
    _say(slack, "Double my revenue")
    _say(slack, "12000")
    _press(slack, "6")
    optional = _say(slack, "10")
    # Optional questions name the word to type, not a slash command Slack would swallow,
    # and carry a Skip button.
    assert "/skip" not in optional and "*skip*" in optional
    assert "first weekly check-in is ready" in _press(slack, "Skip")
    assert "*checkin*" in _last(slack)["text"]

    # "help" and "checkin" as plain words.
    help_text = _say(slack, "help")
    assert "*checkin* - start your weekly check-in now" in help_text
    assert "How confident" in _say(slack, "Checkin")
    _press(slack, "3")
    question = _last(slack)
    assert "What got in the way" in question["text"]
    # She answers in a thread under the question: read as her answer, not dropped.
    assert "What revenue" in _say(slack, "clients went quiet", thread_ts=question["ts"])
    assert "Did you do the outreach" in _say(slack, "2500")
    _press(slack, "Yes")
    assert "Anything you'd like your coach to know" in _press(slack, "Sales")
    assert "Thanks, Ana" in _say(slack, "skip")


def test_a_slack_reminder_carries_a_check_in_now_button(slack: Slack):
    app = slack.app
    enrolled = enrol_client(app.rt, program_id="business_12w", name="Ana Lima",
                            zone="Europe/Berlin", coach="Casey Coach")
    # Without `enroll --slack-id`, she joins by typing the code after the word "start".
    assert "happy to go ahead" in _say(slack, f"start {enrolled.code}")
    _press(slack, "Yes")
    for answer in ("Double my revenue", "12000", "6", "10", "skip"):
        _say(slack, answer)
    runner = TouchpointRunner(app.rt, worker="test")
    end = app.clock.now() + timedelta(days=3)
    while app.clock.now() < end:
        app.clock.set(app.clock.now() + timedelta(minutes=30))
        runner.tick(app.clock.now())
        slack.deliver()
    reminder = next(m for m in slack.api.posted_messages(ANA)
                    if "gentle reminder" in m["text"] and "How confident" in m["text"])
    assert "Check in now" in _buttons(reminder)
    assert "Here's where we were" in _press(slack, "Check in now", reminder)
    # Pausing and resuming by word.
    assert "Paused" in _say(slack, "pause")
    assert "Welcome back" in _say(slack, "resume")
