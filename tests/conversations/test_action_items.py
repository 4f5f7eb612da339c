"""Action items in the pure core: the check-in asks about each open item first (Done /
Partly / Not yet, buttons or words), completion counts done 1, partly 0.5, not yet 0, and the
program's `action_items:` setting is validated."""

from __future__ import annotations

from datetime import UTC, date, datetime

from conversations.action_items import AskedItem, completion
from conversations.loader import parse_program
from conversations.metrics import AnswerPoint, History, behaviour_series, behaviour_value
from tests.conversations.chat import after_intake, sample_text
from tests.conversations.test_program_errors import FILE, broken, the_error

CALL = AskedItem(id=7, text="Call five past clients", due=date(2026, 3, 6))
DRAFT = AskedItem(id=9, text="Draft the offer")


def test_a_checkin_asks_about_each_open_action_item_before_its_own_questions():
    chat = after_intake()
    chat.action_items = (CALL, DRAFT)
    replies = chat.says("/checkin")
    assert replies == ['Week 3 check-in. Five quick questions.\n\n'
                       'From your last session: "Call five past clients" (due Fri 06 Mar). '
                       'How did it go?']
    assert [b.label for b in chat.received[-1].buttons] == ["Done", "Partly", "Not yet"]
    assert chat.presses("done") == ['From your last session: "Draft the offer" (due no date). '
                                    'How did it go?']
    # Typed words are read like the buttons; anything else is asked again.
    assert "Please pick one of: 1. Done, 2. Partly, 3. Not yet." in chat.says("maybe")[0]
    chat.action_items = ()  # what the coach changes meanwhile does not change this check-in
    assert "How confident" in chat.says("Not yet")[0]
    assert [(a.question, a.value) for a in chat.answers[-2:]] == [
        ("action_item_7", "done"), ("action_item_9", "not_yet")]


def test_a_program_that_turns_action_items_off_asks_only_its_own_questions():
    text = sample_text().replace("action_items:\n  enabled: true",
                                 "action_items:\n  enabled: false")
    chat = after_intake()
    chat.program = parse_program(text, FILE)
    chat.action_items = (CALL,)
    assert "How confident" in chat.says("/checkin")[-1]


def test_completion_counts_done_one_partly_a_half_and_not_yet_nothing():
    assert completion([1.0, 0.5]) == 0.75
    assert completion([0.0]) == 0.0
    assert completion([]) is None
    at = datetime(2026, 3, 9, 8, tzinfo=UTC)
    history = History(checkins=(), answers={}, last_reply_at=None, enrolled_at=at,
                      action_items=[AnswerPoint(at, 0.75), AnswerPoint(at, 0.5)])
    assert behaviour_series("action_items", history, at) == [0.75, 0.5]
    assert behaviour_value("action_items", history, at) == 0.5


def test_the_action_items_setting_is_checked_like_the_rest_of_the_file():
    wrong = broken("  enabled: true\n", "  enabled: perhaps\n")
    assert the_error(wrong).field == "action_items.enabled"
    unknown = broken('How did it go?"\n', 'How did {thing} go?"\n')
    error = the_error(unknown)
    assert error.field == "action_items.question"
    assert "unknown placeholder {thing}" in str(error)


def test_without_its_own_wording_the_checkin_asks_in_the_clients_language():
    text = sample_text().replace(
        '  question: "From your last session: \\"{item}\\" (due {due}). How did it go?"\n', "")
    chat = after_intake()
    chat.program = parse_program(text, FILE)
    chat.language = "de"
    chat.action_items = (CALL, DRAFT)
    assert chat.says("/checkin")[-1].endswith(
        "\n\nAus deiner letzten Session: „Call five past clients“ (fällig Fr., 6. März). "
        "Wie ist es gelaufen?")
    assert [b.label for b in chat.received[-1].buttons] == ["Erledigt", "Teilweise",
                                                            "Noch nicht"]
    assert [b.value for b in chat.received[-1].buttons] == ["done", "partly", "not_yet"]
    # The German words are read like the buttons; the next item has no due date.
    assert chat.says("teilweise") == ['Aus deiner letzten Session: „Draft the offer“ '
                                      '(fällig ohne Datum). Wie ist es gelaufen?']
    chat.says("Noch nicht")
    assert [(a.question, a.value) for a in chat.answers[-2:]] == [
        ("action_item_7", "partly"), ("action_item_9", "not_yet")]
