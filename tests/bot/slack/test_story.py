"""A client runs the check-in over Slack DM; a low score reaches the team; a reply takes it."""

from __future__ import annotations

from sqlmodel import select

from services.enrolment import enrol_client
from services.flows import open_flow_now
from storage.db import session
from storage.models import AuditEntry, Escalation
from tests.bot.slack.conftest import ANA, STRANGER, TEAM_CHANNEL, TIA, Slack, open_case
from tests.fakes.slack_api import reaction_added_event


def _buttons(message: dict) -> list[tuple[str, str, str, str]]:
    """(label, action id, block id, value) of every button of a posted message."""
    found = []
    for block in message.get("blocks", []):
        for element in block.get("elements", []) if block["type"] == "actions" else []:
            found.append((element["text"]["text"], element["action_id"], block["block_id"],
                          element["value"]))
    return found


def _press(slack: Slack, label: str) -> None:
    last = slack.api.posted_messages(ANA)[-1]
    _, action_id, block_id, value = next(b for b in _buttons(last) if b[0] == label)
    assert slack.clicks(ANA, action_id, value, channel=f"D{ANA}", ts=last["ts"],
                        block_id=block_id) == 200
    slack.deliver()


def _say(slack: Slack, text: str) -> str:
    assert slack.says(ANA, text, channel=f"D{ANA}") == 200
    slack.deliver()
    return slack.api.posted_messages(ANA)[-1]["text"]


def test_low_score_over_slack_dm_is_acknowledged_by_a_reply_in_the_thread(slack: Slack):
    app = slack.app
    enrolled = enrol_client(app.rt, program_id="business_12w", name="Ana Lima",
                            zone="Europe/Berlin", coach="Casey Coach")
    # Ana joins in a DM with the bot and answers intake, with buttons where there are some.
    _say(slack, f"/start {enrolled.code}")
    _press(slack, "Yes")
    for answer in ["Double my revenue", "12000"]:
        _say(slack, answer)
    _press(slack, "6")
    _say(slack, "10")
    _say(slack, "/skip")
    # Her weekly check-in: a low confidence and a worried blocker.
    open_flow_now(app.rt, enrolled.enrolment_id, "weekly_checkin", key="checkin:1")
    slack.deliver()
    _press(slack, "3")
    _say(slack, "Thinking of quitting <!channel>")
    # A rule fires and opens an escalation with what fired it; it goes to the team channel.
    case_id = open_case(app, enrolled.enrolment_id, evidence=(
        ("confidence", "3"), ("blocker", "Thinking of quitting <!channel>")))
    slack.tick()
    [post] = slack.team_posts()
    shown = str(post["blocks"])
    assert "Ana Lima" in shown and "Confidence below 5" in shown and "week 1" in shown
    assert "confidence: 3" in shown and "Tia Team" in shown
    assert "<!channel>" not in shown and "&lt;!channel&gt;" in shown
    assert [b[0] for b in _buttons(post)] == ["Acknowledge", "Resolve"]

    # Someone not listed says "ack": told why, privately; nothing changes.
    assert slack.says(STRANGER, "ack", channel=TEAM_CHANNEL, thread_ts=post["ts"]) == 200
    [ephemeral] = slack.api.wait_for_call("chat.postEphemeral")  # sent after the ack
    assert ephemeral["user"] == STRANGER and "Only listed" in ephemeral["text"]
    assert slack.api.calls_of("chat.update") == []

    # Tia replies "On it!" in the thread: acknowledged, and the post shows who and when.
    assert slack.says(TIA, "On it!", channel=TEAM_CHANNEL, thread_ts=post["ts"],
                      event_id="EvTIA1") == 200
    [update] = slack.api.calls_of("chat.update")
    assert "Acknowledged by Tia Team" in str(update["blocks"])
    assert [b[0] for b in _buttons(update)] == ["Resolve"]
    # Slack retries the same event: nothing changes the second time.
    assert slack.says(TIA, "On it!", channel=TEAM_CHANNEL, thread_ts=post["ts"],
                      event_id="EvTIA1", retry=1) == 200
    assert len(slack.api.calls_of("chat.update")) == 1

    # "Resolved: called her" closes it with the note.
    slack.says(TIA, "Resolved: called her, she is staying", channel=TEAM_CHANNEL,
               thread_ts=post["ts"])
    final = slack.api.message(TEAM_CHANNEL, post["ts"])
    assert final is not None and "Resolved by Tia Team" in str(final["blocks"])
    with session(app.db) as s:
        case = s.get(Escalation, case_id)
        assert case.acknowledged_at is not None and case.resolved_at is not None
        assert case.resolution_note == "called her, she is staying"
        actions = [a.action for a in s.exec(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["escalation_opened", "escalation_acknowledged", "escalation_resolved"]


def test_the_eyes_reaction_acknowledges(slack: Slack):
    enrolled = enrol_client(slack.app.rt, program_id="business_12w", name="Ana Lima",
                            zone="Europe/Berlin", coach="Casey Coach")
    open_case(slack.app, enrolled.enrolment_id)
    slack.tick()
    [post] = slack.team_posts()
    assert slack.reacts(TIA, "thumbsup", channel=TEAM_CHANNEL, ts=post["ts"]) == 200
    assert slack.api.calls_of("chat.update") == []
    assert slack.reacts(TIA, "eyes", channel=TEAM_CHANNEL, ts=post["ts"]) == 200
    assert "Acknowledged by Tia Team" in str(slack.api.calls_of("chat.update")[0]["blocks"])


def test_taking_the_eyes_back_is_acked_and_changes_nothing(slack: Slack):
    """Slack sends reaction_removed too: answered 200 (else Slack retries it), and the
    acknowledgement stays (the audit says who took it)."""
    enrolled = enrol_client(slack.app.rt, program_id="business_12w", name="Ana Lima",
                            zone="Europe/Berlin", coach="Casey Coach")
    open_case(slack.app, enrolled.enrolment_id)
    slack.tick()
    [post] = slack.team_posts()
    assert slack.reacts(TIA, "eyes", channel=TEAM_CHANNEL, ts=post["ts"]) == 200
    removed = {**reaction_added_event(TIA, "eyes", TEAM_CHANNEL, post["ts"]),
               "type": "reaction_removed"}
    assert slack.event(removed) == 200
    assert len(slack.api.calls_of("chat.update")) == 1


def test_the_buttons_acknowledge_and_resolve_and_a_stranger_cannot(slack: Slack):
    enrolled = enrol_client(slack.app.rt, program_id="business_12w", name="Ana Lima",
                            zone="Europe/Berlin", coach="Casey Coach")
    case_id = open_case(slack.app, enrolled.enrolment_id)
    slack.tick()
    [post] = slack.team_posts()
    slack.clicks(STRANGER, "escalation_ack", str(case_id), channel=TEAM_CHANNEL, ts=post["ts"])
    assert len(slack.api.wait_for_call("chat.postEphemeral")) == 1
    slack.clicks(TIA, "escalation_ack", str(case_id), channel=TEAM_CHANNEL, ts=post["ts"])
    slack.clicks(TIA, "escalation_resolve", str(case_id), channel=TEAM_CHANNEL,
                 ts=post["ts"])
    updates = slack.api.calls_of("chat.update")
    assert len(updates) == 2 and "Resolved by Tia Team" in str(updates[-1]["blocks"])
