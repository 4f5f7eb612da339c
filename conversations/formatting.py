"""Numbers, money, dates, times and weekdays as the reader's language writes them (Babel).

Every message, digest, report and review formats through here, so "1.200,5" in German and
"1,200.5" in English are decided once. Times are 24 h in every language (check-in times are
stored and typed that way, and "18:30" reads the same in all five).
"""

from __future__ import annotations

from datetime import date, datetime, time
from functools import cache
from typing import Literal

from babel.dates import format_date as babel_date
from babel.dates import format_skeleton, get_day_names
from babel.numbers import format_currency as babel_currency
from babel.numbers import format_decimal, format_percent, get_group_symbol

from conversations.languages import WEEKDAY_CODES, locale, supported

DateStyle = Literal["short", "medium", "long", "full"]

# The compact day the digest, the Slack cards and the coach commands show, by (weekday,
# year). English keeps the forms its texts have always had ("Mon 02 Mar", "02 Mar 2026");
# the other languages take CLDR's own for the same fields ("Mo., 2. März", "2. März 2026").
_ENGLISH_DAY = {(True, False): "EEE dd MMM", (False, True): "dd MMM y",
                (False, False): "dd MMM", (True, True): "EEE dd MMM y"}
_DAY_SKELETON = {(True, False): "MMMEd", (False, True): "yMMMd", (False, False): "MMMd",
                 (True, True): "yMMMEd"}


def format_number(value: float, language: str = "en", *, decimals: int = 6,
                  grouping: bool = True) -> str:
    """A number with the language's separators: 1200.5 -> "1,200.5" / "1.200,5" / "1 200,5".

    Whole numbers show no fraction ("12" not "12.0"); at most `decimals` fraction digits,
    trailing zeros dropped; `grouping=False` leaves out the thousands separator ("12000",
    as a bound or an answer is typed).
    """
    if float(value).is_integer() and abs(value) < 1e15:
        # The common case (scores, counts, money in whole units) without Babel's pattern
        # machinery, which costs about a hundred times more; the same text
        # (tests/conversations/test_formatting_languages.py holds them equal).
        whole = int(value)
        return f"{whole:,}".replace(",", _group_sign(language)) if grouping else str(whole)
    pattern = ("#,##0" if grouping else "0") + ("." + "#" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=locale(language),
                          decimal_quantization=True)


@cache
def _group_sign(language: str) -> str:
    return get_group_symbol(locale(language))


def format_fixed(value: float, language: str = "en", *, decimals: int = 1,
                 grouping: bool = False, signed: bool = False) -> str:
    """A figure with exactly `decimals` fraction digits: "2.0" / "2,0"; `signed` shows "+"."""
    pattern = ("#,##0" if grouping else "0") + ("." + "0" * decimals if decimals else "")
    shown = format_decimal(abs(value) if signed else value, format=pattern,
                           locale=locale(language))
    if not signed:
        return shown
    return ("-" if value < 0 else "+") + shown


def format_signed(value: float, language: str = "en", *, decimals: int = 6) -> str:
    """A change with its sign always shown: "+3", "-1,5" ("+0" for no change)."""
    shown = format_number(abs(value), language, decimals=decimals)
    return ("-" if value < 0 and shown.strip("0.,") else "+") + shown


def format_percent_value(ratio: float, language: str = "en", *, decimals: int = 0) -> str:
    """A ratio as a percentage: 0.75 -> "75%" / "75 %" (German and French put a space)."""
    pattern = locale(language).percent_formats[None].pattern
    if decimals:
        pattern = pattern.replace("#,##0", "#,##0." + "0" * decimals, 1)
    return format_percent(ratio, format=pattern, locale=locale(language))


def format_money(amount: float, currency: str, language: str = "en") -> str:
    """An amount of a currency: "€1,200.50", "1.200,50 €", "R$ 1.200,50"."""
    return babel_currency(amount, currency.upper(), locale=locale(language))


def format_date(day: date | datetime, language: str = "en", style: DateStyle = "medium") -> str:
    """A date with its year in CLDR's style: medium is "Mar 2, 2026" / "02.03.2026" /
    "2 mars 2026" / "2 de mar. de 2026"."""
    if isinstance(day, datetime):
        day = day.date()
    return babel_date(day, format=style, locale=locale(language))


def format_day(day: date | datetime, language: str = "en", *, weekday: bool = True,
               year: bool = False) -> str:
    """A compact day for lists: "Mon 02 Mar" / "Mo., 2. März"; without the weekday and with
    the year, "02 Mar 2026" / "2. März 2026"."""
    if isinstance(day, datetime):
        day = day.date()
    lang = supported(language)
    if lang == "en":
        return babel_date(day, format=_ENGLISH_DAY[weekday, year], locale=locale(lang))
    return format_skeleton(_DAY_SKELETON[weekday, year], day, locale=locale(lang))


def format_day_time(at: datetime, language: str = "en") -> str:
    """A compact day and a 24 h time: "Mon 02 Mar 18:30" / "Mo., 2. März 18:30"."""
    return f"{format_day(at, language)} {format_time(at, language)}"


def format_time(at: time | datetime | str, language: str = "en") -> str:
    """A time of day, 24 h: "18:30" ("HH:MM" strings as stored are accepted)."""
    if isinstance(at, str):
        hours, _, minutes = at.partition(":")
        if not (hours.isdigit() and (minutes or "0").isdigit()):
            return at  # not a stored "HH:MM": shown as it is rather than refused
        at = time(int(hours), int(minutes or 0))
    if isinstance(at, datetime):
        at = at.time()
    return f"{at.hour:02d}:{at.minute:02d}"


def format_weekday(code: str, language: str = "en", *, width: str = "wide") -> str:
    """A weekday code ("tue") as the language names it: "Tuesday", "Dienstag", "Di."."""
    names = _day_names(width, language)
    index = WEEKDAY_CODES.index(code) if code in WEEKDAY_CODES else None
    return names[index] if index is not None else code


@cache
def _day_names(width: str, language: str) -> tuple[str, ...]:
    # Looked up once per language: every check-in the tick opens names its weekday.
    names = get_day_names(width, locale=locale(language))
    return tuple(names[index] for index in range(7))
