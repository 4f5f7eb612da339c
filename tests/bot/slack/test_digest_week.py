"""The digest of a seeded week, word for word: what a coach reads in 30 seconds."""

from __future__ import annotations

from datetime import UTC, datetime

from services.flows import open_flow_now
from storage.db import session
from storage.models import PlannedTouchpoint
from tests.bot.slack.conftest import COACH, Slack, two_clients_after_intake
from tests.conftest import CHECKIN_GOOD

SUN_BEFORE = datetime(2026, 2, 22, 10, 0, tzinfo=UTC)
SATURDAY = datetime(2026, 2, 28, 10, 0, tzinfo=UTC)
SUNDAY = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
MONDAY_0800_BERLIN = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


def _checkin(client, answers: list[str], key: str) -> None:
    open_flow_now(client.app.rt, client.enrolled.enrolment_id, "weekly_checkin", key=key)
    client.flush()
    for answer in answers:
        client.says(answer)


def test_the_digest_of_a_week_with_a_drop_a_missed_checkin_and_a_stuck_intake(
        slack: Slack, enrol, clock):
    clock.set(SUN_BEFORE)
    ana, ben = two_clients_after_intake(enrol)
    _checkin(ana, CHECKIN_GOOD, "w1-ana")  # eight days before the digest: only for "was"
    with session(slack.app.db) as s, s.begin():
        # Ben's check-in of Monday the 23rd went unanswered through its reminders.
        s.add(PlannedTouchpoint(enrolment_id=ben.enrolled.enrolment_id,
                                touchpoint_id="weekly_checkin", occurrence="2026-W09",
                                due_at=datetime(2026, 2, 23, 8, 0, tzinfo=UTC),
                                status="missed", kind="send"))
    clock.set(SATURDAY)
    enrol("Rita R&D")  # joined, then nothing: her intake waits
    clock.set(SUNDAY)
    _checkin(ana, ["3", "Lost a big client", "900", "no", "sales", "/skip"], "w2-ana")
    clock.set(MONDAY_0800_BERLIN)
    slack.tick()
    [digest] = [m for m in slack.api.posted_messages(COACH)
                if not m["text"].startswith("Check-in:")]
    assert digest["text"] == "\n".join([
        "Your digest for Sun 01 Mar",
        "Ana Lima: checked in: Confidence 3/10, was 8/10 · Weekly revenue 900 EUR, was "
        "2500 EUR · Planned outreach done ✗, was ✓",
        "Ben Okafor: missed the check-in of Mon 23 Feb",
        "Rita R&amp;D: stuck in intake since Sat 28 Feb",
        "Check-ins this week: 1 of 3 clients checked in, 1 missed.",
    ])
    # The scheduled digest is Block Kit, as on demand; each text escaped exactly once.
    blocks = digest["blocks"]
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text",
                                                    "text": "Your digest for Sun 01 Mar"}}
    assert [b["text"]["text"].split("\n")[0] for b in blocks[1:4]] == [
        ":red_circle: *Ana Lima*", ":large_yellow_circle: *Ben Okafor*",
        ":large_yellow_circle: *Rita R&amp;D*"]
    assert "&amp;amp;" not in str(blocks)
    on_demand = slack.command(COACH, "digest")
    assert on_demand["blocks"][1:] == blocks[1:]
