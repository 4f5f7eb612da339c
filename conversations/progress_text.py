"""The client's progress as text: a sparkline of the main metric, baseline and streak."""

from __future__ import annotations

from collections.abc import Sequence

from conversations.formatting import format_number, format_percent_value
from conversations.translations import DEFAULT_LANGUAGE, Translator, translator

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float]) -> str:
    """Values as a row of bars, lowest to highest."""
    if not values:
        return ""
    low, high = min(values), max(values)
    span = high - low
    if span == 0:
        return _BARS[3] * len(values)
    return "".join(_BARS[round((v - low) / span * (len(_BARS) - 1))] for v in values)


def _number(value: float, language: str) -> str:
    # Whole above 100 (revenue, steps), two decimals at most below it (a 7.25 average).
    return format_number(round(value) if abs(value) >= 100 else value, language, decimals=2)


def completed_text(checkins: int, t: Translator) -> str:
    """How many check-ins the client completed, as a sentence."""
    return t.ngettext("Check-ins completed: {count}.", "Check-ins completed: {count}.",
                      checkins).format(count=checkins)


def progress_text(*, title: str, values: Sequence[float], baseline: float | None,
                  checkins: int, streak: int, milestones: Sequence[str] = (),
                  action_items: tuple[str, float] | None = None,
                  language: str = DEFAULT_LANGUAGE) -> str:
    """A short progress summary for the client in `language`, numbers written its way;
    `action_items`: the completion metric's title and its value at the last check-in
    that asked about them."""
    t = translator(language)
    if not values:
        return t.gettext("No check-ins yet, so nothing to chart. Send /checkin to record "
                         "your first week.") + " " + completed_text(checkins, t)
    lines = [t.gettext("{title}: {sparkline}  (latest {latest})").format(
        title=title, sparkline=sparkline(values), latest=_number(values[-1], language))]
    if baseline is not None:
        change = values[-1] - baseline
        lines.append(t.gettext("Baseline {baseline}, change {change}").format(
            baseline=_number(baseline, language),
            change=("+" if change >= 0 else "-") + _number(abs(change), language)))
    lines.append(completed_text(checkins, t) + " " + t.ngettext(
        "Current streak: {count} in a row.", "Current streak: {count} in a row.",
        streak).format(count=streak))
    if action_items is not None:
        lines.append(t.gettext("{title}: {value} at your last check-in.").format(
            title=action_items[0], value=format_percent_value(action_items[1], language)))
    if milestones:
        lines.append(t.gettext("Milestones: {milestones}.").format(
            milestones="; ".join(milestones)))
    return "\n".join(lines)
