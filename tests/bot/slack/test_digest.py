"""The coach's 08:00 digest: a quiet day is one line; a falling score comes first, beside
the one before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.flows import open_flow_now
from tests.bot.slack.conftest import COACH, TIA, Slack, two_clients_after_intake
from tests.conftest import CHECKIN_GOOD

SUN_BEFORE = datetime(2026, 2, 22, 10, 0, tzinfo=UTC)
SUNDAY = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
MONDAY_0800_BERLIN = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


def _checkin(client, answers: list[str], key: str) -> None:
    open_flow_now(client.app.rt, client.enrolled.enrolment_id, "weekly_checkin", key=key)
    client.flush()
    for answer in answers:
        client.says(answer)


def test_a_quiet_day_is_one_line_at_0800_in_the_coachs_zone_and_once(slack: Slack, clock):
    clock.set(MONDAY_0800_BERLIN - timedelta(minutes=1))
    slack.tick()
    assert slack.api.posted_messages(COACH) == []  # 07:59 in Berlin: not yet
    clock.set(MONDAY_0800_BERLIN)
    slack.tick()
    slack.tick()  # the runner ticks every minute: still one digest
    slack.deliver()
    [digest] = slack.api.posted_messages(COACH)
    assert "a quiet day" in digest["text"] and "\n" not in digest["text"]
    clock.advance(timedelta(days=1))
    slack.tick()
    slack.deliver()
    assert len(slack.api.posted_messages(COACH)) == 2  # Tuesday's


def test_a_low_scoring_client_comes_first_beside_last_weeks_score(slack: Slack, enrol, clock):
    clock.set(SUN_BEFORE)
    ana, ben = two_clients_after_intake(enrol)
    _checkin(ana, CHECKIN_GOOD, "w1-ana")
    _checkin(ben, CHECKIN_GOOD, "w1-ben")
    clock.set(SUNDAY)
    _checkin(ben, CHECKIN_GOOD, "w2-ben")
    _checkin(ana, ["3", "Lost a big client", "900", "no", "sales", "/skip"], "w2-ana")
    clock.set(MONDAY_0800_BERLIN)
    slack.tick()
    slack.deliver()
    # Each check-in also reached Casey as a card the moment it was done.
    [digest] = [m for m in slack.api.posted_messages(COACH)
                if not m["text"].startswith("Check-in:")]
    lines = digest["text"].splitlines()
    assert lines[1] == ("Ana Lima: checked in: Confidence 3/10, was 8/10 · Weekly revenue "
                        "900 EUR, was 2500 EUR · Planned outreach done ✗, was ✓")
    assert lines[2].startswith("Ben Okafor: checked in: Confidence 8/10, was 8/10")
    assert lines[-1] == "Check-ins this week: 2 of 2 clients checked in, 0 missed."
    assert "Lost a big client" not in digest["text"]  # scores, not what they wrote

    # On demand, as Block Kit, only to the coach who asked.
    answer = slack.command(COACH, "digest")
    assert answer["response_type"] == "ephemeral"
    assert ":red_circle: *Ana Lima*" in str(answer["blocks"])
    # A client summary: the coach's own clients only.
    assert "Ana Lima: Grow" in slack.command(COACH, "client ana lima")["text"]
    assert slack.command(TIA, "client Ana Lima")["text"] == "You have no client by that name."
