"""Each question type: what a client may type, what is stored, and how a wrong answer is re-asked.

Every re-ask says what is accepted, in the client's words ("a number from 1 to 10").
"""

from __future__ import annotations

from datetime import date

import pytest

from conversations.answers import Invalid, parse
from conversations.program import (
    ChoiceQuestion,
    DateQuestion,
    NumberQuestion,
    Option,
    ScaleQuestion,
    TextQuestion,
    YesNoQuestion,
)

TODAY = date(2026, 3, 2)

GOAL = TextQuestion(id="goal", type="text", prompt="Your goal?", max_length=500)
REVENUE = NumberQuestion(id="revenue", type="number", prompt="Revenue?", min=0, max=100_000_000,
                         unit="EUR")
HOURS = NumberQuestion(id="hours", type="number", prompt="Hours?", min=0, max=100,
                       integer=True, unit="hours")
CONFIDENCE = ScaleQuestion(id="confidence", type="scale", prompt="Confidence?", min=1, max=10)
OUTREACH = YesNoQuestion(id="outreach", type="yes_no", prompt="Outreach done?")
FOCUS = ChoiceQuestion(id="focus", type="choice", prompt="Focus?", options=[
    Option(id="sales", label="Sales"), Option(id="product", label="Product"),
    Option(id="not_yet", label="Not yet")])
SESSION = DateQuestion(id="session", type="date", prompt="First session?")


def reason(question, typed: str) -> str:
    """The re-ask text for an answer that must be refused."""
    outcome = parse(question, typed, TODAY)
    assert isinstance(outcome, Invalid), f"{typed!r} was accepted as {outcome!r}"
    return outcome.reason


# --- text -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "stored"), [
    ("Double my revenue", "Double my revenue"),
    ("  padded answer \n", "padded answer"),
    ("Launch 🚀 and grow 📈", "Launch 🚀 and grow 📈"),
    ("أريد مضاعفة دخلي", "أريد مضاعفة دخلي"),
    ("\u202bשלום עולם\u202c", "\u202bשלום עולם\u202c"),  # embedding marks are kept (format)
    ("line one\nline two", "line one\nline two"),
    ("bell\x07 and null\x00 and escape\x1b[31m gone", "bell and null and escape[31m gone"),
])
def test_text_is_stored_as_given_without_control_characters(typed, stored):
    assert parse(GOAL, typed, TODAY) == stored


def test_text_at_the_cap_is_kept_one_more_character_is_re_asked():
    assert parse(GOAL, "x" * 500, TODAY) == "x" * 500
    assert reason(GOAL, "x" * 501) == "That's 501 characters; please keep it under 500."


def test_ten_thousand_characters_are_re_asked_with_the_cap():
    assert "please keep it under 500" in reason(GOAL, "a" * 10_000)


@pytest.mark.parametrize("typed", ["", "   ", "\x00\x01\x02", "\n\t"])
def test_an_empty_text_answer_is_re_asked_saying_what_is_wanted(typed):
    assert reason(GOAL, typed) == ("I need an answer here: a few words "
                                   "(up to 500 characters).")


# --- number ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "stored"), [
    ("2500", 2500),
    ("1,200", 1200),
    ("1,200,000", 1_200_000),
    ("€2,500", 2500),
    ("2500 EUR", 2500),
    ("2500€", 2500),
    ("$2500", 2500),
    ("2.5k", 2500),
    ("7,5", 7.5),
    ("7.5", 7.5),
    ("1 200", 1200),
    ("seven", 7),
    ("0", 0),
])
def test_number_accepts_natural_forms(typed, stored):
    value = parse(REVENUE, typed, TODAY)
    assert value == stored and type(value) is type(stored)


@pytest.mark.parametrize("typed", ["-5", "100000001"])
def test_number_out_of_bounds_is_re_asked_with_the_bounds_and_unit(typed):
    assert reason(REVENUE, typed) == "Please send a number from 0 to 100000000 (EUR)."


@pytest.mark.parametrize("typed", ["lots", "about 2k?", "2500 dollars and change", "1.2.3"])
def test_number_that_cannot_be_read_is_re_asked(typed):
    assert reason(REVENUE, typed) == ("I couldn't read that as a number. Please send a number "
                                      "from 0 to 100000000 (EUR), for example 1,200.5 / seven.")


def test_number_with_its_own_unit_written_after_it_is_accepted():
    assert parse(HOURS, "10 hours", TODAY) == 10


def test_integer_only_number_refuses_a_fraction_and_says_whole_number():
    assert parse(HOURS, "10", TODAY) == 10
    assert reason(HOURS, "7.5") == "Please send a whole number from 0 to 100 (hours)."
    assert reason(HOURS, "101") == "Please send a whole number from 0 to 100 (hours)."


def test_number_with_one_bound_or_none_says_so():
    at_least = NumberQuestion(id="n", type="number", prompt="?", min=1)
    up_to = NumberQuestion(id="n", type="number", prompt="?", max=5, unit="kg")
    free = NumberQuestion(id="n", type="number", prompt="?")
    assert reason(at_least, "0") == "Please send a number of at least 1."
    assert reason(up_to, "6") == "Please send a number up to 5 (kg)."
    assert reason(free, "many") == ("I couldn't read that as a number. Please send a number, "
                                    "for example 1,200.5 / seven.")
    assert parse(free, "-3.25", TODAY) == -3.25


# --- scale ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "stored"), [
    ("7", 7), ("7/10", 7), ("7 / 10", 7), ("7 out of 10", 7), ("seven", 7), ("Seven", 7),
    ("1", 1), ("10", 10), ("ten", 10),
])
def test_scale_accepts_natural_forms(typed, stored):
    assert parse(CONFIDENCE, typed, TODAY) == stored


@pytest.mark.parametrize("typed", ["0", "11", "7.5", "eleven", "-1", "great", "seven and a half"])
def test_scale_out_of_range_or_unreadable_is_re_asked_with_the_range(typed):
    assert reason(CONFIDENCE, typed) == "Please answer with a number from 1 to 10."


def test_scale_from_zero_says_its_own_range():
    nps = ScaleQuestion(id="nps", type="scale", prompt="?", min=0, max=10)
    assert parse(nps, "0", TODAY) == 0
    assert reason(nps, "11") == "Please answer with a number from 0 to 10."


# --- yes / no -------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["y", "Y", "yes", "Yes!", "yeah", "yep", "yup", "sure",
                                   "ok", "of course", "👍"])
def test_yes_forms(typed):
    assert parse(OUTREACH, typed, TODAY) is True


@pytest.mark.parametrize("typed", ["n", "no", "No.", "nope", "nah", "not really", "👎"])
def test_no_forms(typed):
    assert parse(OUTREACH, typed, TODAY) is False


@pytest.mark.parametrize("typed", ["maybe", "yes and no", "42", "yess"])
def test_anything_else_is_re_asked_as_yes_or_no(typed):
    assert reason(OUTREACH, typed) == "Please answer yes / no."


def test_yes_no_button_values_are_accepted():
    assert parse(OUTREACH, "yes", TODAY) is True
    assert parse(OUTREACH, "no", TODAY) is False


# --- choice ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "stored"), [
    ("1", "sales"), ("3", "not_yet"),              # by number, as the console lists them
    ("Sales", "sales"), ("product", "product"), ("Not yet", "not_yet"),  # by label
    ("not_yet", "not_yet"), ("sales", "sales"),     # by id, as a button sends it
])
def test_choice_by_number_label_or_id(typed, stored):
    assert parse(FOCUS, typed, TODAY) == stored


@pytest.mark.parametrize("typed", ["0", "4", "marketing", "sales and product"])
def test_an_unknown_choice_is_re_asked_with_the_numbered_options(typed):
    assert reason(FOCUS, typed) == "Please pick one of: 1. Sales, 2. Product, 3. Not yet."


# --- date -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "stored"), [
    ("2026-03-12", date(2026, 3, 12)),
    ("today", TODAY),
    ("Tomorrow", date(2026, 3, 3)),
    ("yesterday", date(2026, 3, 1)),
    ("12 March 2026", date(2026, 3, 12)),
    ("March 12, 2026", date(2026, 3, 12)),
    ("12.03.2026", date(2026, 3, 12)),
])
def test_date_forms(typed, stored):
    assert parse(SESSION, typed, TODAY) == stored


@pytest.mark.parametrize("typed", ["2026-02-30", "next week sometime", "31/31/2026", "13.13.2026"])
def test_a_bad_date_is_re_asked_with_an_example(typed):
    assert reason(SESSION, typed) == ("Please send a date, for example today / tomorrow / "
                                      "Mar 2, 2026.")


# --- any type -------------------------------------------------------------------------------


@pytest.mark.parametrize(("question", "accepted"), [
    (REVENUE, "a number from 0 to 100000000 (EUR)"),
    (CONFIDENCE, "a number from 1 to 10"),
    (OUTREACH, "yes or no"),
    (FOCUS, "one of: Sales, Product, Not yet"),
    (SESSION, "a date like 2026-03-02"),
])
def test_an_empty_answer_to_any_type_is_re_asked_with_what_is_accepted(question, accepted):
    assert accepted in reason(question, "   ")


@pytest.mark.parametrize("question", [REVENUE, CONFIDENCE, OUTREACH, FOCUS, SESSION])
def test_ten_thousand_characters_to_a_typed_question_are_refused_before_parsing(question):
    assert "longer than I can read" in reason(question, "9" * 10_000)
