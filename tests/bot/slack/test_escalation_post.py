"""An escalation's post names the coach and shows the SLA in its owner's own time; after
the bot was down past several SLA periods, the first reminder is still "reminder 1"."""

from __future__ import annotations

from datetime import timedelta

from services import escalations
from services.enrolment import enrol_client
from tests.bot.slack.conftest import BO, Slack, open_case


def test_the_post_names_the_coach_and_the_sla_in_the_owners_zone(slack: Slack, clock):
    enrolled = enrol_client(slack.app.rt, program_id="business_12w", name="Ana Lima",
                            zone="Europe/Berlin", coach="Casey Coach")
    open_case(slack.app, enrolled.enrolment_id, sla=timedelta(hours=4))
    slack.tick()
    [post] = slack.team_posts()
    owner_line = post["blocks"][2]["text"]["text"]
    # Opened Monday 08:00 UTC; Tia works in Berlin, where the SLA is 13:00.
    assert owner_line == ("*Owner:* Tia Team    *Coach:* Casey Coach    "
                          "*SLA:* Mon 02 Mar 13:00 Europe/Berlin (12:00 UTC)")

    # The bot is down past two SLA periods: one reminder when it is back, numbered 1.
    clock.advance(timedelta(hours=9))
    slack.tick()
    slack.tick()
    [again] = slack.thread(post["ts"])
    assert "(reminder 1)" in again["text"] and f"<@{BO}>" in again["text"]
    clock.advance(timedelta(hours=4))
    slack.tick()
    assert "(reminder 2)" in slack.thread(post["ts"])[-1]["text"]


def test_the_owner_is_whoever_the_programs_role_names(slack: Slack):
    rt = slack.app.rt
    enrolled = enrol_client(rt, program_id="business_12w", name="Ana Lima",
                            zone="Europe/Berlin", coach="Casey Coach")
    with rt.transaction() as uow:
        for role, reason in (("team", "Mentioned quitting"), ("coach", "No reply for 10 days")):
            escalations.open_case(rt, uow, enrolment_id=enrolled.enrolment_id, reason=reason,
                                  owner_role=role, sla=timedelta(hours=4))
    slack.tick()
    owners = [post["blocks"][2]["text"]["text"].split("    ")[0]
              for post in slack.team_posts()]
    # Not the first team member listed: the team as a whole, or the client's own coach.
    assert owners == ["*Owner:* the team", "*Owner:* Casey Coach"]
