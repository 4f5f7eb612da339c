"""The words a client may type instead of a button or a digit, one table per language.

Data only: `answers.py`, `number_input.py`, `date_input.py`, `schedule_input.py` and
`answer_forms.py` read it. Words are written as a client
would write them; they are compared folded (lower case, accents optional), so "nao" finds
"não" and "manana" finds "mañana". Weekday and month names are not here: Babel's locale data
has them (`languages.weekday_names`, `languages.month_names`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

from conversations.languages import fold_word, supported


@dataclass(frozen=True)
class Words:
    """One language's answer words."""

    # The first word of each is the one a re-ask names.
    yes: tuple[str, ...]
    no: tuple[str, ...]
    numbers: Mapping[str, int]
    # Days from today: "tomorrow" is 1.
    days: Mapping[str, int]
    # Words that may stand around a day and time in /schedule ("on", "at", "um", "às").
    schedule_fillers: frozenset[str]
    # Words after an hour that mean "o'clock" ("18 Uhr", "18h").
    hour_marks: frozenset[str]
    # Words between a day and a month in a written date ("2 de marzo de 2026").
    date_fillers: frozenset[str] = frozenset()


def _numbers(*names: str | tuple[str, ...]) -> Mapping[str, int]:
    """Number words in order from zero; a tuple lists the forms of one number."""
    table: dict[str, int] = {}
    for value, forms in enumerate(names):
        for form in (forms,) if isinstance(forms, str) else forms:
            table[form] = value
    return MappingProxyType(table)


_TABLES: dict[str, Words] = {
    "en": Words(
        yes=("yes", "y", "yeah", "yep", "yup", "sure", "ok", "okay", "of course", "i agree",
             "agree", "true", "si", "ja", "👍", "✅"),
        no=("no", "n", "nope", "nah", "not really", "false", "nein", "👎", "❌"),
        numbers=_numbers("zero", "one", "two", "three", "four", "five", "six", "seven",
                         "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen",
                         "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"),
        days=MappingProxyType({"today": 0, "tomorrow": 1, "yesterday": -1,
                               "day after tomorrow": 2, "the day after tomorrow": 2}),
        schedule_fillers=frozenset({"on", "at", "every", "each", "@"}),
        hour_marks=frozenset({"h", "o'clock", "oclock"}),
        date_fillers=frozenset({"of", "the"}),
    ),
    "de": Words(
        yes=("ja", "jo", "jap", "jep", "jawohl", "klar", "sicher", "genau",
             "stimmt", "ok", "okay", "na klar", "auf jeden fall", "j", "👍", "✅"),
        no=("nein", "ne", "nee", "nö", "noe", "nicht wirklich", "auf keinen fall",
            "n", "👎", "❌"),
        numbers=_numbers("null", ("eins", "ein", "eine"), ("zwei", "zwo"), "drei", "vier",
                         ("fünf", "fuenf"), "sechs", "sieben", "acht", "neun", "zehn", "elf",
                         ("zwölf", "zwoelf"), "dreizehn", "vierzehn", ("fünfzehn", "fuenfzehn"),
                         "sechzehn", "siebzehn", "achtzehn", "neunzehn", "zwanzig"),
        days=MappingProxyType({"heute": 0, "morgen": 1, "übermorgen": 2, "uebermorgen": 2,
                               "gestern": -1, "vorgestern": -2}),
        schedule_fillers=frozenset({"am", "um", "jeden", "jeweils", "immer", "ab", "@"}),
        hour_marks=frozenset({"uhr", "h"}),
        date_fillers=frozenset(),
    ),
    "es": Words(
        yes=("sí", "si", "s", "claro", "vale", "ok", "okay", "por supuesto",
             "de acuerdo", "sip", "👍", "✅"),
        no=("no", "n", "nop", "para nada", "todavía no", "👎", "❌"),
        numbers=_numbers("cero", ("uno", "una", "un"), "dos", "tres", "cuatro", "cinco", "seis",
                         "siete", "ocho", "nueve", "diez", "once", "doce", "trece", "catorce",
                         "quince", "dieciséis", "diecisiete", "dieciocho", "diecinueve",
                         "veinte"),
        days=MappingProxyType({"hoy": 0, "mañana": 1, "pasado mañana": 2, "ayer": -1,
                               "anteayer": -2}),
        schedule_fillers=frozenset({"el", "los", "a", "las", "la", "cada", "todos", "@"}),
        hour_marks=frozenset({"h", "hs", "horas"}),
        date_fillers=frozenset({"de", "del"}),
    ),
    "fr": Words(
        yes=("oui", "ouais", "si", "bien sûr", "d'accord", "ok", "okay",
             "carrément", "exactement", "👍", "✅"),
        no=("non", "n", "nan", "pas vraiment", "pas encore", "👎", "❌"),
        numbers=_numbers("zéro", ("un", "une"), "deux", "trois", "quatre", "cinq", "six",
                         "sept", "huit", "neuf", "dix", "onze", "douze", "treize", "quatorze",
                         "quinze", "seize", ("dix-sept", "dix sept"), ("dix-huit", "dix huit"),
                         ("dix-neuf", "dix neuf"), "vingt"),
        days=MappingProxyType({"aujourd'hui": 0, "aujourdhui": 0, "aujourd hui": 0,
                               "demain": 1, "après-demain": 2, "apres demain": 2, "hier": -1,
                               "avant-hier": -2}),
        schedule_fillers=frozenset({"le", "à", "a", "chaque", "tous", "les", "@"}),
        hour_marks=frozenset({"h", "heures", "heure"}),
        date_fillers=frozenset(),
    ),
    "pt_BR": Words(
        yes=("sim", "s", "claro", "com certeza", "isso", "beleza", "ok", "okay",
             "uhum", "👍", "✅"),
        no=("não", "nao", "n", "ainda não", "de jeito nenhum", "👎", "❌"),
        numbers=_numbers("zero", ("um", "uma"), ("dois", "duas"), "três", "quatro", "cinco",
                         "seis", "sete", "oito", "nove", "dez", "onze", "doze", "treze",
                         ("catorze", "quatorze"), "quinze", ("dezesseis", "dezasseis"),
                         ("dezessete", "dezassete"), "dezoito", ("dezenove", "dezanove"),
                         "vinte"),
        days=MappingProxyType({"hoje": 0, "amanhã": 1, "depois de amanhã": 2, "ontem": -1,
                               "anteontem": -2}),
        schedule_fillers=frozenset({"na", "no", "às", "as", "a", "toda", "todo", "todas",
                                    "@"}),
        hour_marks=frozenset({"h", "hs", "horas"}),
        date_fillers=frozenset({"de", "do"}),
    ),
}


@cache
def words(language: str) -> Words:
    """The language's words, folded, with English's added where the language has none.

    A German client who types "yes" or "seven" is understood too: English is the fallback,
    and the language's own words win wherever the two disagree.
    """
    own = _TABLES[supported(language)]
    english = _TABLES["en"]
    yes = {fold_word(w) for w in own.yes}
    no = {fold_word(w) for w in own.no}
    if own is not english:
        yes |= {fold_word(w) for w in english.yes} - no
        no |= {fold_word(w) for w in english.no} - yes
    numbers = {fold_word(w): n for w, n in english.numbers.items()}
    numbers.update({fold_word(w): n for w, n in own.numbers.items()})
    days = {fold_word(w): n for w, n in english.days.items()}
    days.update({fold_word(w): n for w, n in own.days.items()})
    return Words(
        yes=tuple(sorted(yes)), no=tuple(sorted(no)), numbers=MappingProxyType(numbers),
        days=MappingProxyType(days),
        schedule_fillers=frozenset(fold_word(w) for w in own.schedule_fillers
                                   | english.schedule_fillers),
        hour_marks=frozenset(fold_word(w) for w in own.hour_marks | english.hour_marks),
        date_fillers=frozenset(fold_word(w) for w in own.date_fillers | english.date_fillers),
    )


def own_words(language: str) -> Words:
    """The language's table as written (not folded, no English): for naming examples."""
    return _TABLES[supported(language)]
