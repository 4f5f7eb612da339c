"""A client answers in their program's language: yes/no words, number words, the language's
separators, relative dates, written dates and /schedule's day and time, accents optional.

One table per kind of answer, one row per (language, what the client typed, what is stored).
"""

from __future__ import annotations

from datetime import date

import pytest

from conversations.answer_forms import accepted_forms
from conversations.answers import Invalid, parse
from conversations.date_input import parse_date
from conversations.languages import LANGUAGES, supported
from conversations.number_input import parse_number
from conversations.program import (
    ChoiceQuestion,
    DateQuestion,
    NumberQuestion,
    Option,
    ScaleQuestion,
    YesNoQuestion,
)
from conversations.schedule_input import ScheduleChoice, parse_schedule
from tests.conversations.chat import INTAKE, Chat

TODAY = date(2026, 3, 2)  # a Monday

OUTREACH = YesNoQuestion(id="outreach", type="yes_no", prompt="?")
CONFIDENCE = ScaleQuestion(id="confidence", type="scale", prompt="?", min=1, max=10)
REVENUE = NumberQuestion(id="revenue", type="number", prompt="?", min=0, max=100_000_000)
SESSION = DateQuestion(id="session", type="date", prompt="?")

# --- yes / no -------------------------------------------------------------------------------

YES_NO = [
    ("en", "yes", True), ("en", "Yeah!", True), ("en", "nope", False),
    ("de", "ja", True), ("de", "Jo", True), ("de", "klar", True), ("de", "nein", False),
    ("de", "ne", False), ("de", "nee", False), ("de", "nö", False), ("de", "noe", False),
    ("de", "yes", True),  # English is understood in every language
    ("es", "sí", True), ("es", "si", True), ("es", "Sí.", True), ("es", "claro", True),
    ("es", "no", False), ("es", "para nada", False),
    ("fr", "oui", True), ("fr", "Ouais", True), ("fr", "d’accord", True), ("fr", "non", False),
    ("fr", "pas vraiment", False),
    ("pt_BR", "sim", True), ("pt_BR", "Claro!", True), ("pt_BR", "não", False),
    ("pt_BR", "nao", False), ("pt_BR", "NÃO", False),
]


@pytest.mark.parametrize(("language", "typed", "stored"), YES_NO)
def test_yes_and_no_in_each_language(language, typed, stored):
    assert parse(OUTREACH, typed, TODAY, language) is stored


@pytest.mark.parametrize(("language", "forms", "re_asked"), [
    ("en", "yes / no", "Please answer yes / no."),
    ("de", "ja / nein", "Bitte antworte mit ja / nein."),
    ("es", "sí / no", "Por favor, responde sí / no."),
    ("fr", "oui / non", "Merci de répondre par oui / non."),
    ("pt_BR", "sim / não", "Por favor, responda sim / não."),
])
def test_a_wrong_yes_no_answer_is_re_asked_naming_the_languages_words(language, forms,
                                                                      re_asked):
    outcome = parse(OUTREACH, "vielleicht peut-être", TODAY, language)
    assert isinstance(outcome, Invalid)
    assert outcome.forms == forms
    # The sentence is the catalog's, in the language; the words it names are the parser's.
    assert outcome.reason == re_asked


# --- number words ---------------------------------------------------------------------------

NUMBER_WORDS = [
    ("en", "seven", 7), ("en", "Twenty", 20), ("en", "zero", 0),
    ("de", "sieben", 7), ("de", "eins", 1), ("de", "zwo", 2), ("de", "fünf", 5),
    ("de", "fuenf", 5), ("de", "funf", 5), ("de", "zwölf", 12), ("de", "zwoelf", 12),
    ("de", "siebzehn", 17), ("de", "zwanzig", 20), ("de", "null", 0),
    ("es", "siete", 7), ("es", "uno", 1), ("es", "una", 1), ("es", "dieciséis", 16),
    ("es", "dieciseis", 16), ("es", "veinte", 20), ("es", "cero", 0),
    ("fr", "sept", 7), ("fr", "un", 1), ("fr", "dix-sept", 17), ("fr", "dix sept", 17),
    ("fr", "zéro", 0), ("fr", "zero", 0), ("fr", "vingt", 20),
    ("pt_BR", "sete", 7), ("pt_BR", "três", 3), ("pt_BR", "tres", 3), ("pt_BR", "duas", 2),
    ("pt_BR", "dezesseis", 16), ("pt_BR", "quatorze", 14), ("pt_BR", "vinte", 20),
]


@pytest.mark.parametrize(("language", "typed", "stored"), NUMBER_WORDS)
def test_number_words_up_to_twenty_in_each_language(language, typed, stored):
    assert parse_number(typed, language) == stored


@pytest.mark.parametrize(("language", "typed", "stored"), [
    ("de", "sieben", 7), ("es", "diez", 10), ("fr", "huit", 8), ("pt_BR", "nove", 9),
    ("de", "7 von 10", 7), ("es", "7 de 10", 7), ("fr", "7 sur 10", 7), ("pt_BR", "7/10", 7),
])
def test_a_scale_answered_in_words_or_out_of_ten(language, typed, stored):
    assert parse(CONFIDENCE, typed, TODAY, language) == stored


@pytest.mark.parametrize(("language", "forms"), [
    ("en", "1-10 / seven"), ("de", "1-10 / sieben"), ("es", "1-10 / siete"),
    ("fr", "1-10 / sept"), ("pt_BR", "1-10 / sete"),
])
def test_a_wrong_scale_answer_names_the_range_and_a_number_word(language, forms):
    outcome = parse(CONFIDENCE, "elfzig", TODAY, language)
    assert isinstance(outcome, Invalid) and outcome.forms == forms


# --- separators -----------------------------------------------------------------------------

NNBSP, NBSP = "\u202f", "\u00a0"
SEPARATORS = [
    ("en", "1,200.50", 1200.5), ("en", "1,200", 1200), ("en", "1.5", 1.5), ("en", "7,5", 7.5),
    ("en", "1,200,000", 1_200_000), ("en", "€1,200.50", 1200.5),
    ("de", "1.200,50", 1200.5), ("de", "1.200", 1200), ("de", "1,5", 1.5), ("de", "7.5", 7.5),
    ("de", "1.200.000", 1_200_000), ("de", "1.200,50 €", 1200.5), ("de", "2,5k", 2500),
    ("de", "1,200", 1.2),  # a German comma is a decimal comma, even before three digits
    ("es", "1.200,50", 1200.5), ("es", "1.200", 1200), ("es", "3,75", 3.75),
    ("fr", f"1{NBSP}200,50", 1200.5), ("fr", f"1{NNBSP}200,50", 1200.5),
    ("fr", "1 200,50", 1200.5), ("fr", "1 200", 1200), ("fr", "1,5", 1.5),
    ("fr", f"1{NNBSP}200,50{NBSP}€", 1200.5), ("fr", "-3,25", -3.25),
    ("pt_BR", "1.200,50", 1200.5), ("pt_BR", "R$ 1.200,50", 1200.5), ("pt_BR", "0,5", 0.5),
]


@pytest.mark.parametrize(("language", "typed", "stored"), SEPARATORS)
def test_decimal_and_thousands_separators_the_languages_way(language, typed, stored):
    assert parse_number(typed, language) == stored


@pytest.mark.parametrize(("language", "typed"), [
    ("de", "1.2.3"), ("de", "1.20,5"), ("en", "1,20.5"), ("fr", "1,200,5"), ("es", "12,34.5"),
    ("pt_BR", "muitos"), ("en", "1.200.5"),
])
def test_separators_in_impossible_places_are_not_a_number(language, typed):
    assert parse_number(typed, language) is None


def test_a_number_question_in_german_stores_the_value_and_re_asks_with_a_german_example():
    assert parse(REVENUE, "1.200,50", TODAY, "de") == 1200.5
    assert parse(REVENUE, "1.200", TODAY, "de") == 1200
    outcome = parse(REVENUE, "viel", TODAY, "de")
    assert isinstance(outcome, Invalid) and outcome.forms == "1.200,5 / sieben"
    assert outcome.reason.endswith("zum Beispiel 1.200,5 / sieben.")


# --- dates ----------------------------------------------------------------------------------

DATES = [
    ("en", "today", TODAY), ("en", "tomorrow", date(2026, 3, 3)),
    ("en", "day after tomorrow", date(2026, 3, 4)), ("en", "March 12, 2026", date(2026, 3, 12)),
    ("en", "12th March 2026", date(2026, 3, 12)),
    ("de", "heute", TODAY), ("de", "morgen", date(2026, 3, 3)),
    ("de", "übermorgen", date(2026, 3, 4)), ("de", "Uebermorgen", date(2026, 3, 4)),
    ("de", "gestern", date(2026, 3, 1)), ("de", "12.03.2026", date(2026, 3, 12)),
    ("de", "12. März 2026", date(2026, 3, 12)), ("de", "12. Maerz 2026", None),
    ("de", "12 marz 2026", date(2026, 3, 12)), ("de", "tomorrow", date(2026, 3, 3)),
    ("es", "hoy", TODAY), ("es", "mañana", date(2026, 3, 3)), ("es", "manana", date(2026, 3, 3)),
    ("es", "pasado mañana", date(2026, 3, 4)), ("es", "12/03/2026", date(2026, 3, 12)),
    ("es", "12 de marzo de 2026", date(2026, 3, 12)),
    ("fr", "aujourd'hui", TODAY), ("fr", "Aujourd’hui", TODAY),
    ("fr", "demain", date(2026, 3, 3)), ("fr", "après-demain", date(2026, 3, 4)),
    ("fr", "1er avril 2026", date(2026, 4, 1)), ("fr", "12/03/2026", date(2026, 3, 12)),
    ("fr", "12 févr. 2026", date(2026, 2, 12)),
    ("pt_BR", "hoje", TODAY), ("pt_BR", "amanhã", date(2026, 3, 3)),
    ("pt_BR", "amanha", date(2026, 3, 3)), ("pt_BR", "depois de amanhã", date(2026, 3, 4)),
    ("pt_BR", "12 de março de 2026", date(2026, 3, 12)),
    ("pt_BR", "12/03/2026", date(2026, 3, 12)),
    ("en", "12/03/2026", None),  # day or month first? English does not guess
    ("de", "31.02.2026", None), ("fr", "demain matin peut-être", None),
]


@pytest.mark.parametrize(("language", "typed", "stored"), DATES)
def test_dates_relative_and_written_in_each_language(language, typed, stored):
    assert parse_date(typed, TODAY, language) == stored


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_date_example_a_re_ask_names_is_itself_accepted(language):
    outcome = parse(SESSION, "someday", TODAY, language)
    assert isinstance(outcome, Invalid)
    for example in accepted_forms("date", language).examples:
        assert parse(SESSION, example, TODAY, language) is not None, example


# --- /schedule ------------------------------------------------------------------------------

SCHEDULES = [
    ("en", "tue 18:30", "tue", "18:30"), ("en", "Tuesday 6:30pm", "tue", "18:30"),
    ("en", "thurs 7 am", "thu", "07:00"), ("en", "sun 12am", "sun", "00:00"),
    ("en", "Fri 12 p.m.", "fri", "12:00"), ("en", "on mondays at 0900", "mon", "09:00"),
    ("de", "di 18:30", "tue", "18:30"), ("de", "Di. 18 Uhr", "tue", "18:00"),
    ("de", "am Dienstag um 18.30", "tue", "18:30"), ("de", "dienstags 7", "tue", "07:00"),
    ("de", "Mi 9", "wed", "09:00"), ("de", "Sonntag 20:15 Uhr", "sun", "20:15"),
    ("es", "martes 18:30", "tue", "18:30"), ("es", "mar 18:30", "tue", "18:30"),
    ("es", "el miércoles a las 9", "wed", "09:00"), ("es", "miercoles 9:00", "wed", "09:00"),
    ("es", "sáb 10h", "sat", "10:00"),
    ("fr", "mardi 18h30", "tue", "18:30"), ("fr", "mar. 18h", "tue", "18:00"),
    ("fr", "le jeudi à 7h", "thu", "07:00"), ("fr", "vendredi 18 heures", "fri", "18:00"),
    ("pt_BR", "terça 18h", "tue", "18:00"), ("pt_BR", "terça-feira às 18:30", "tue", "18:30"),
    ("pt_BR", "terca 18h30", "tue", "18:30"), ("pt_BR", "sábado 9h", "sat", "09:00"),
    ("pt_BR", "seg. 8:15", "mon", "08:15"),
    ("de", "tue 18:30", "tue", "18:30"),  # the English example in the help works everywhere
]


@pytest.mark.parametrize(("language", "typed", "day", "time"), SCHEDULES)
def test_schedule_day_and_time_in_each_language(language, typed, day, time):
    assert parse_schedule(typed, language) == ScheduleChoice(day=day, time=time)


@pytest.mark.parametrize(("language", "typed"), [
    ("de", "Dienstag"), ("de", "18 Uhr"), ("de", "di 25 Uhr"), ("fr", "mardi 18h75"),
    ("es", "martes 13pm"), ("pt_BR", "quando der"), ("en", "someday 18:00"),
])
def test_schedule_without_a_day_or_a_valid_time_is_refused(language, typed):
    assert parse_schedule(typed, language) is None


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_schedule_example_a_re_ask_names_is_itself_accepted(language):
    (example,) = accepted_forms("schedule", language).examples
    assert parse_schedule(example, language) == ScheduleChoice(day="tue", time="18:30")


# --- language tags --------------------------------------------------------------------------


@pytest.mark.parametrize(("tag", "language"), [
    ("en", "en"), ("de", "de"), ("de-AT", "de"), ("pt-BR", "pt_BR"), ("pt_BR", "pt_BR"),
    ("pt", "pt_BR"), ("FR", "fr"), ("es-419", "es"), ("xx", "en"), ("", "en"), (None, "en"),
])
def test_any_language_tag_reads_as_a_supported_language(tag, language):
    assert supported(tag) == language


def test_an_unknown_language_parses_like_english():
    assert parse(OUTREACH, "yes", TODAY, "tlh") is True
    assert parse_number("1,200", "tlh") == 1200


# --- through the engine ---------------------------------------------------------------------

# (language, intake answers in order: consent, goal, revenue, confidence, hours, start date)
INTAKES = [
    ("de", ["ja", "Umsatz verdoppeln", "12.000", "sechs", "zehn", "übermorgen"],
     12000, 6, 10),
    ("es", ["sí", "Duplicar ingresos", "12.000,50", "seis", "diez", "pasado manana"],
     12000.5, 6, 10),
    ("fr", ["ouais", "Doubler le chiffre", "12 000", "six", "dix", "après-demain"],
     12000, 6, 10),
    ("pt_BR", ["sim", "Dobrar a receita", "R$ 12.000", "seis", "dez", "depois de amanha"],
     12000, 6, 10),
]


@pytest.mark.parametrize(("language", "typed", "revenue", "confidence", "hours"), INTAKES)
def test_a_whole_intake_answered_in_the_programs_language(language, typed, revenue,
                                                          confidence, hours):
    chat = Chat(language=language)
    chat.start("intake")
    for text in typed:
        chat.says(text)
    assert chat.status == "active" and chat.flow_state is None
    assert [(a.question, a.value) for a in chat.answers] == [
        ("consent", True), ("goal", typed[1]), ("revenue_baseline", revenue),
        ("confidence_baseline", confidence), ("hours_per_week", hours),
        ("start_date", date(2026, 3, 4))]


@pytest.mark.parametrize(("language", "typed", "day", "time"), [
    ("de", "/schedule Di 18 Uhr", "tue", "18:00"),
    ("es", "/schedule el jueves a las 7:30", "thu", "07:30"),
    ("fr", "/schedule vendredi 18h30", "fri", "18:30"),
    ("pt_BR", "/schedule sábado às 9h", "sat", "09:00"),
])
def test_schedule_in_the_programs_language_changes_the_checkin(language, typed, day, time):
    chat = Chat(language=language)
    chat.start("intake")
    for text, _ in INTAKE:
        chat.says(text)
    chat.says(typed)
    assert [(e.kind, e.data) for e in chat.last.events] == [
        ("schedule_changed", {"day": day, "time": time})]


def test_a_choice_label_may_be_typed_without_its_accents():
    focus = ChoiceQuestion(id="focus", type="choice", prompt="?", options=[
        Option(id="sales", label="Vendas"), Option(id="ops", label="Operações")])
    assert parse(focus, "operacoes", TODAY, "pt_BR") == "ops"
    assert parse(focus, "Operações!", TODAY, "pt_BR") == "ops"
    assert parse(focus, "2", TODAY, "pt_BR") == "ops"
