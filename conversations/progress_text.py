"""The client's progress as text: a sparkline of the main metric, baseline and streak."""

from __future__ import annotations

from collections.abc import Sequence

from conversations.action_items import shown
from conversations.formatting import format_number

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


def progress_text(*, title: str, values: Sequence[float], baseline: float | None,
                  checkins: int, streak: int, milestones: Sequence[str] = (),
                  action_items: tuple[str, float] | None = None,
                  language: str = "en") -> str:
    """A short progress summary for the client, numbers written the language's way;
    `action_items`: the completion metric's title and its value at the last check-in
    that asked about them."""
    if not values:
        return (f"No check-ins yet, so nothing to chart. Send /checkin to record your first "
                f"week. Check-ins completed: {checkins}.")
    lines = [f"{title}: {sparkline(values)}  (latest {_number(values[-1], language)})"]
    if baseline is not None:
        change = values[-1] - baseline
        lines.append(f"Baseline {_number(baseline, language)}, change "
                     f"{'+' if change >= 0 else '-'}{_number(abs(change), language)}")
    lines.append(f"Check-ins completed: {checkins}. Current streak: {streak} in a row.")
    if action_items is not None:
        lines.append(f"{action_items[0]}: {shown(action_items[1])} at your last check-in.")
    if milestones:
        lines.append("Milestones: " + "; ".join(milestones) + ".")
    return "\n".join(lines)
