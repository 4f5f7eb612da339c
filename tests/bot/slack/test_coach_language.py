"""A coach added with `--language de` reads their own Slack in German: the Home tab, the
`/coachbot` answers, the Notes form and its refusals. The team channel has no person: its
escalation posts are in the language every program shares (else English)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.settings import BUNDLED_PROGRAMS
from bot.slack.blocks import escalation_message
from conversations.loader import parse_program
from conversations.messages import EscalationCard
from services.client_context import shared_language
from services.enrolment import enrol_client
from storage.db import session
from storage.staff import staff_at
from tests.bot.slack.conftest import COACH, Slack
from tests.conftest import SAMPLE
from tests.fakes.slack_api import view_submission_payload


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url  # words from a catalog: nothing here is about storage


@pytest.fixture
def ana(slack: Slack) -> int:
    """Ana, coached by Casey, who was added with `--language de`."""
    with session(slack.app.db) as s, s.begin():
        casey = staff_at(s, COACH)
        assert casey is not None
        casey.language = "de"
    return enrol_client(slack.app.rt, program_id="business_12w", name="Ana Lima",
                        zone="Europe/Berlin", coach="Casey Coach").enrolment_id


def test_a_german_coach_sees_the_home_tab_in_german(slack: Slack, ana: int):
    assert slack.event({"type": "app_home_opened", "user": COACH, "channel": f"D{COACH}",
                        "tab": "home", "event_ts": "1700000000.000100"}) == 200
    [*_, published] = slack.api.calls_of("views.publish")
    blocks = published["view"]["blocks"]
    assert blocks[0]["text"]["text"] == "Deine Klient:innen"
    assert blocks[1]["text"]["text"] == "*Ana Lima*  intake (invited) · noch kein Check-in"
    assert [e["text"]["text"] for e in blocks[2]["elements"]] == ["Übersicht", "Notizen"]
    assert [b["text"]["text"] for b in blocks[3:]] == [
        "*Offene Eskalationen*\nKeine.", "*Heutige Sessions*\nKeine."]


def _answer(slack: Slack, text: str) -> str:
    """What `/coachbot text` answers Casey, as read (without the escaping's invisible
    spaces around code spans)."""
    return slack.command(COACH, text)["text"].replace("\u200b", "")


def test_a_german_coach_is_answered_in_german_by_coachbot(slack: Slack, ana: int):
    assert _answer(slack, "client Nobody") == "Du hast keine Klient:in mit diesem Namen."
    assert _answer(slack, "help").startswith(
        "So geht's: `/coachbot digest` (deine tägliche Übersicht jetzt)")
    assert _answer(slack, "client Ana Lima").splitlines() == [
        "Ana Lima: Grow: 12-week business coaching, Woche 1, invited, Phase intake",
        "Letzte Werte: noch keine Werte", "Offene Aufgaben: 0", "Offene Eskalationen: 0"]
    assert _answer(slack, "escalate Ana Lima") == \
        "Schreib den Grund dazu: `/coachbot escalate NAME Grund`."


def test_a_german_coachs_notes_form_and_its_refusal_are_in_german(slack: Slack, ana: int):
    assert slack.presses_on_home(COACH, "session_notes", str(ana)) == 200
    [form] = slack.api.opened_views()
    assert (form["title"]["text"], form["submit"]["text"], form["close"]["text"]) == (
        "Session-Notizen", "Senden", "Abbrechen")
    assert [b["label"]["text"] for b in form["blocks"][:3]] == [
        "Notizen für Ana Lima", "Aufgabe 1", "Fällig bis (Aufgabe 1)"]

    # Sent empty: Slack shows the refusal beside the notes field, in Casey's language.
    status, body = slack.post(view_submission_payload(COACH, form, {}),
                              "application/x-www-form-urlencoded")
    assert status == 200
    assert json.loads(body) == {"response_action": "errors", "errors": {
        "notes": "Schreib Notizen für die Person oder mindestens eine Aufgabe."}}


def test_the_team_channel_reads_escalations_in_the_language_all_programs_share():
    german = parse_program((BUNDLED_PROGRAMS / "languages" / "wachstum-12w.de.yaml")
                           .read_text(), "wachstum-12w.de.yaml")
    english = parse_program(SAMPLE.read_text(), SAMPLE.name)
    assert shared_language([german]) == "de"
    assert shared_language([german, english]) == "en"  # no one language: English

    card = EscalationCard(id=7, client="Ana Lima", program="Wachstum", week=3,
                          reason="Zuversicht unter 5", evidence=(), owner="das Team",
                          sla_due_at=datetime(2026, 3, 2, 13, 0, tzinfo=UTC), language="de")
    text, blocks = escalation_message(card)
    assert text == ("Eskalation #7: Ana Lima, Zuversicht unter 5. Zuständig: das Team, "
                    "SLA Mo., 2. März 13:00 UTC.")
    assert blocks[0]["text"]["text"] == ("*Eskalation #7: Ana Lima*\nWachstum, Woche 3\n"
                                         "*Grund:* Zuversicht unter 5")
    assert blocks[1]["text"]["text"] == "*Was sie ausgelöst hat*\n(keine)"
    assert [e["text"]["text"] for e in blocks[4]["elements"]] == ["Übernehmen", "Erledigt"]
