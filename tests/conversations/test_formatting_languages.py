"""What the bot writes, it reads back: numbers, money, days and times in each language, and
anything it formats is accepted when a client types it back.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from babel.numbers import format_decimal
from hypothesis import given, settings
from hypothesis import strategies as st

from conversations.date_input import parse_date
from conversations.formatting import (
    format_date,
    format_day,
    format_day_time,
    format_fixed,
    format_money,
    format_number,
    format_percent_value,
    format_signed,
    format_time,
    format_weekday,
)
from conversations.languages import LANGUAGES, locale
from conversations.number_input import parse_number
from conversations.progress_text import progress_text
from conversations.schedule_input import ScheduleChoice, parse_schedule

NNBSP, NBSP = "\u202f", "\u00a0"
MONDAY = datetime(2026, 3, 2, 18, 30)


@pytest.mark.parametrize(("language", "number", "money", "percent"), [
    ("en", "1,200.5", "€1,200.50", "75%"),
    ("de", "1.200,5", f"1.200,50{NBSP}€", f"75{NBSP}%"),
    ("es", "1.200,5", f"1.200,50{NBSP}€", f"75{NBSP}%"),
    ("fr", f"1{NNBSP}200,5", f"1{NNBSP}200,50{NBSP}€", f"75{NBSP}%"),
    ("pt_BR", "1.200,5", f"€{NBSP}1.200,50", "75%"),
])
def test_numbers_money_and_percentages_in_each_language(language, number, money, percent):
    assert format_number(1200.5, language) == number
    assert format_money(1200.5, "eur", language) == money
    assert format_percent_value(0.75, language) == percent


@pytest.mark.parametrize(("language", "day", "with_year", "medium", "weekday"), [
    ("en", "Mon 02 Mar", "02 Mar 2026", "Mar 2, 2026", "Tuesday"),
    ("de", "Mo., 2. März", "2. März 2026", "02.03.2026", "Dienstag"),
    ("es", "lun, 2 mar", "2 mar 2026", "2 mar 2026", "martes"),
    ("fr", "lun. 2 mars", "2 mars 2026", "2 mars 2026", "mardi"),
    ("pt_BR", "seg., 2 de mar.", "2 de mar. de 2026", "2 de mar. de 2026", "terça-feira"),
])
def test_days_and_weekdays_in_each_language(language, day, with_year, medium, weekday):
    assert format_day(MONDAY, language) == day
    assert format_day(MONDAY, language, weekday=False, year=True) == with_year
    assert format_date(MONDAY, language) == medium
    assert format_weekday("tue", language) == weekday
    assert format_day_time(MONDAY, language) == f"{day} 18:30"


def test_english_days_keep_the_form_the_digest_always_had():
    """Byte for byte what strftime("%a %d %b") wrote before the digest went through Babel."""
    for day in (date(2026, 1, 1) + (date(2026, 1, 8) - date(2026, 1, 1)) * n for n in range(53)):
        assert format_day(day) == f"{day:%a %d %b}"
        assert format_day(day, weekday=False, year=True) == f"{day:%d %b %Y}"


def test_times_are_24_hours_in_every_language():
    for language in LANGUAGES:
        assert format_time(MONDAY, language) == "18:30"
        assert format_time("9:05", language) == "09:05"


def test_signed_and_fixed_figures():
    assert format_signed(3, "de") == "+3"
    assert format_signed(-1.5, "de") == "-1,5"
    assert format_signed(0.001, "en", decimals=2) == "+0"
    assert format_fixed(2, "en") == "2.0"
    assert format_fixed(-0.25, "fr", signed=True) == "-0,2"
    assert format_fixed(1234.56, "de", grouping=True) == "1.234,6"


@pytest.mark.parametrize(("language", "latest", "baseline"), [
    ("en", "(latest 2,500)", "Baseline 1,000, change +1,500"),
    ("de", "(zuletzt 2.500)", "Ausgangswert 1.000, Veränderung +1.500"),
    ("fr", f"(dernier 2{NNBSP}500)", f"Point de départ 1{NNBSP}000, évolution +1{NNBSP}500"),
])
def test_progress_numbers_in_the_clients_language(language, latest, baseline):
    text = progress_text(title="Weekly revenue", values=[1000, 2500], baseline=1000,
                         checkins=2, streak=2, language=language)
    assert latest in text and baseline in text


def test_progress_below_a_hundred_keeps_two_decimals_at_most():
    text = progress_text(title="Confidence", values=[7.25, 7.333333], baseline=6.5,
                         checkins=2, streak=2, language="de")
    assert "(zuletzt 7,33)" in text and "Ausgangswert 6,5, Veränderung +0,83" in text


def test_progress_names_the_action_items_done_in_the_clients_language():
    text = progress_text(title="Umsatz", values=[1000], baseline=None, checkins=1, streak=1,
                         action_items=("Erledigte Aufgaben", 0.75), language="de")
    assert text.endswith("Erledigte Aufgaben: 75\u00a0% beim letzten Check-in.")


# --- what is written is read back -----------------------------------------------------------

AMOUNTS = st.decimals(min_value=Decimal("-10000000"), max_value=Decimal("10000000"),
                      places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None)
@given(amount=AMOUNTS, language=st.sampled_from(LANGUAGES), grouping=st.booleans())
def test_a_formatted_number_parses_back_in_every_language(amount, language, grouping):
    shown = format_number(float(amount), language, grouping=grouping)
    assert parse_number(shown, language) == pytest.approx(float(amount), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(amount=AMOUNTS.filter(lambda a: a >= 0), language=st.sampled_from(LANGUAGES))
def test_a_formatted_amount_of_money_parses_back(amount, language):
    shown = format_money(float(amount), "EUR", language)
    assert parse_number(shown, language) == pytest.approx(float(amount), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(day=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
       language=st.sampled_from(LANGUAGES))
def test_a_formatted_date_parses_back(day, language):
    assert parse_date(format_date(day, language), day, language) == day
    assert parse_date(format_day(day, language, weekday=False, year=True), day,
                      language) == day


@settings(max_examples=60, deadline=None)
@given(day=st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
       hour=st.integers(0, 23), minute=st.integers(0, 59),
       width=st.sampled_from(["wide", "abbreviated", "short"]),
       language=st.sampled_from(LANGUAGES))
def test_a_weekday_and_time_the_bot_writes_are_a_valid_schedule(day, hour, minute, width,
                                                                 language):
    typed = f"{format_weekday(day, language, width=width)} {hour:02d}:{minute:02d}"
    assert parse_schedule(typed, language) == ScheduleChoice(day, f"{hour:02d}:{minute:02d}")


@settings(max_examples=100, deadline=None)
@given(whole=st.integers(-10**14, 10**14), language=st.sampled_from(LANGUAGES))
def test_whole_numbers_are_written_exactly_as_babel_writes_them(whole, language):
    assert format_number(whole, language) == format_decimal(whole, locale=locale(language))
    assert format_number(float(whole), language, grouping=False) == str(whole)
