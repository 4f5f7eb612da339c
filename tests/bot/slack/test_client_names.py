"""Names: a coach finds only their own clients, literally, and chooses when two share a
name; a Slack id that reaches a client in a program is not moved to a new one."""

from __future__ import annotations

from services.enrolment import enrol_client
from storage.db import session
from storage.staff import add_staff
from tests.bot.slack.conftest import COACH, Slack
from tests.bot.slack.test_enrol_slack import CLIENT, _clients, enroll  # noqa: F401 (fixture)

DEE = "UDEE"


def _enrol(slack: Slack, name: str, coach: str) -> int:
    return enrol_client(slack.app.rt, program_id="business_12w", name=name,
                        zone="Europe/Berlin", coach=coach).enrolment_id


def test_two_ana_limas_under_two_coaches_and_a_percent_sign(slack: Slack):
    with session(slack.app.db) as s, s.begin():
        add_staff(s, name="Dee Coach", slack_id=DEE, role="coach", timezone="Europe/Paris",
                  now=slack.app.clock.now())
    _enrol(slack, "Ana Lima", "Casey Coach")  # the older coach's Ana
    _enrol(slack, "Ana Lima", "Dee Coach")
    answer = slack.command(COACH, "client ana lima")["text"]
    assert answer.startswith("Ana Lima: ") and "week 1" in answer
    assert slack.command(DEE, "client Ana Lima")["text"].startswith("Ana Lima: ")
    for wildcard in ("%", "Ana%", "Ana_Lima", "_%"):
        assert slack.command(COACH, f"client {wildcard}")["text"] == \
            "You have no client by that name."


def test_a_coach_with_two_clients_of_one_name_is_offered_a_choice(slack: Slack):
    first = _enrol(slack, "Ana Lima", "Casey Coach")
    second = _enrol(slack, "Ana Lima", "Casey Coach")
    answer = slack.command(COACH, "client Ana Lima")["text"]
    assert answer.startswith("2 clients are called Ana Lima. Which one?")
    assert f"#{first}" in answer and f"#{second}" in answer
    assert slack.command(COACH, f"client #{first}")["text"].startswith("Ana Lima: ")
    # Someone else's enrolment id is not a way in.
    other = _enrol(slack, "Bo Other", "Dee Coach")
    assert slack.command(COACH, f"client #{other}")["text"] == \
        "You have no client by that name."


def test_enrolling_with_the_slack_id_of_a_client_in_a_program_is_refused(
        enroll, api, db_url):  # noqa: F811
    api.add_user(CLIENT)  # a member of the workspace
    assert enroll().exit_code == 0
    again = enroll()
    assert again.exit_code != 0
    assert f"{CLIENT} already belongs to a client in a program" in again.output
    assert _clients(db_url) == [("Ana Lima", "consent")]
