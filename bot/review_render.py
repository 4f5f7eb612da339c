"""`coachbot review` rendered: rich tables for the terminal, tidy CSV and JSON.

The terminal layout fits the width it is given: every table keeps to 80 columns at its
natural width, and the delivery map, the widest, becomes one record per touchpoint below
120 columns. Cells wrap; nothing is cut with an ellipsis. The HTML is in
`bot.review_html`.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from conversations.formatting import format_fixed, format_number, format_signed
from services.review import Change, PeriodReview, Review
from services.review_delivery import TouchpointFigures
from services.review_stats import percent as pct

# Below this width the delivery map is one record per touchpoint instead of a table.
WIDE = 120


# --- figures as text ----------------------------------------------------------------------


def count(value: int, language: str = "en") -> str:
    """A count with thousands separated ("65,718")."""
    return format_number(value, language)


def hours(value: float | None, language: str = "en") -> str:
    """Hours with one decimal ("2.0h")."""
    return "-" if value is None else f"{format_fixed(value, language)}h"


def points(value: float | None, language: str = "en") -> str:
    """A change in a metric, signed ("+1", "-0.5")."""
    if value is None:
        return "-"
    return "0" if value == 0 else format_signed(value, language, decimals=2)


def number(value: float | None, language: str = "en") -> str:
    """A count or a mean: no decimals for whole numbers, one otherwise."""
    if value is None:
        return "-"
    if float(value).is_integer():
        return format_number(value, language)
    return format_fixed(value, language, grouping=True)


def of_sent(part: int | None, line: TouchpointFigures) -> str:
    """A count with its share of the sent rows ("70 (70%)")."""
    if part is None:
        return "-"
    return f"{count(part)} ({pct(part / line.sent)})" if line.sent else count(part)


def value(change: Change, which: float | None) -> str:
    """One side of a change, in its unit."""
    return {"rate": pct, "hours": hours, "points": points}.get(change.unit, number)(which)


def difference(change: Change) -> str:
    """How a figure moved: points of percentage for rates, else the plain difference."""
    if change.this is None or change.previous is None:
        return "-"
    delta = change.this - change.previous
    if change.unit == "rate":
        return f"{format_fixed(delta * 100, decimals=0, signed=True)} pts"
    if change.unit == "hours":
        return f"{format_fixed(delta, signed=True)}h"
    if change.unit == "points":
        return points(delta)
    return format_fixed(delta, decimals=0, grouping=True, signed=True)


def weeks(value: float | None, language: str = "en") -> str:
    """Weeks with one decimal."""
    return "-" if value is None else format_fixed(value, language)


def sla(line: TouchpointFigures, language: str = "en") -> str:
    """The touchpoint's SLA in whole hours ("24h")."""
    return "-" if line.sla_hours is None else f"{format_number(line.sla_hours, language)}h"


def title(review: Review) -> str:
    period = review.current.period
    return (f"coachbot review: {review.program_name} ({review.program_id}), {period.label} "
            f"({period.first} to {period.last})")


# --- terminal -----------------------------------------------------------------------------


def _table(title_text: str, *columns: str, text: Sequence[str] = ()) -> Table:
    """A borderless table whose cells wrap (folding a word only if it must); the first
    column and those named in `text` are left-aligned, figures right-aligned."""
    table = Table(title=title_text, title_justify="left", title_style="bold",
                  box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for index, name in enumerate(columns):
        table.add_column(name, overflow="fold",
                         justify="left" if index == 0 or name in text else "right")
    return table


def _map_table(period: PeriodReview) -> Table:
    table = _table("Delivery operations map", "touchpoint", "owner", "planned", "sent",
                   "on time", "answered", "within SLA", "median to answer", "SLA",
                   "reminders", "missed", "flagged", text=("owner",))
    for line in period.touchpoints:
        table.add_row(line.title, line.owner, count(line.planned), count(line.sent),
                      of_sent(line.sent_on_time, line), of_sent(line.answered, line),
                      of_sent(line.answered_within_sla, line),
                      hours(line.median_hours_to_answer), sla(line), count(line.reminders),
                      count(line.missed), count(line.flagged))
    return table


def _blocks(heading: str, blocks: Sequence[tuple[str, Sequence[str], bool]]) -> Group:
    """A narrow layout: per item a bold line and a few indented lines of figures."""
    parts: list[RenderableType] = [Text(heading, style="bold underline")]
    for head, lines, active in blocks:
        parts.append(Text(head, style="bold" if active else "dim"))
        parts += [Text(f"  {line}") for line in lines]
    return Group(*parts)


def _map_records(period: PeriodReview) -> Group:
    """The map as one short block per touchpoint: readable in 80 columns."""
    blocks = []
    for line in period.touchpoints:
        facts = [line.owner, line.sends]
        if line.sla_hours is not None:
            facts.append(f"SLA {sla(line)}")
        if line.on_no_answer:
            facts.append(f"then {line.on_no_answer.replace('_', ' ')}")
        lines = [f"planned {count(line.planned)} · sent {count(line.sent)} · on time "
                 f"{of_sent(line.sent_on_time, line)}"] if line.planned else \
            ["nothing was due in the period"]
        if line.answered is not None and line.planned:
            lines += [f"answered {of_sent(line.answered, line)} · within SLA "
                      f"{of_sent(line.answered_within_sla, line)} · median "
                      f"{hours(line.median_hours_to_answer)}",
                      f"reminders {count(line.reminders)} · missed {count(line.missed)} · flagged "
                      f"{count(line.flagged)}"]
        blocks.append((f"{line.title} · {' · '.join(facts)}", lines, line.planned > 0))
    return _blocks("Delivery operations map", blocks)


def _metric_records(period: PeriodReview) -> Group:
    blocks = []
    for m in period.metrics:
        rules = ", ".join(m.rules) or "no rule"
        lines = [f"{count(m.values)} values stored · read by {rules}",
                 f"{count(m.reads)} reads · {count(m.firings)} firings · shown in "
                 f"{', '.join(m.used_by) or 'no report'}"]
        verdict = "candidate to drop" if m.drop_candidate else "keep"
        blocks.append((f"{m.metric_id} · {m.bucket} · {verdict}", lines, True))
    return _blocks("Metrics", blocks)


def _rule_records(period: PeriodReview) -> Group:
    blocks = []
    for r in period.rules:
        lines = [f"fired {count(r.firings)} · " + (
            f"escalations {count(r.escalations)} · acknowledged in "
            f"{hours(r.median_hours_to_acknowledge)} (median), "
            f"{pct(r.acknowledged_within_sla)} within SLA" if r.escalations
            else "no escalations")]
        if r.recovered is not None:
            lines.append(f"recovered within 2 check-ins: {recovery(r)}")
        blocks.append((f"{r.title} · {r.condition.replace('_', ' ')} · {r.action}", lines,
                       r.firings > 0))
    return _blocks("Rules", blocks)


def _owners(period: PeriodReview) -> Table:
    table = _table("By owner role", "owner", "touchpoints", "sent", "on time", "within SLA",
                   "missed", "flagged")
    for o in period.owners:
        table.add_row(o.owner, count(o.touchpoints), count(o.sent),
                      pct(o.sent_on_time / o.sent if o.sent else None),
                      pct(o.answered_within_sla / o.with_sla if o.with_sla else None),
                      count(o.missed), count(o.flagged))
    return table


def _weeks(period: PeriodReview) -> Table:
    metric = period.main_metric or "main metric"
    table = _table("Journey by program week", "week", "asked", "answered", "response",
                   f"{metric} (mean)", f"{metric} values")
    for w in period.weeks:
        table.add_row(str(w.week), count(w.asked), count(w.answered), pct(w.response_rate),
                      number(w.metric_mean), count(w.metric_values))
    return table


def _metrics(period: PeriodReview) -> Table:
    table = _table("Metrics", "metric", "bucket", "values", "read by rules", "reads",
                   "firings", "shown in", "drop?",
                   text=("bucket", "read by rules", "shown in", "drop?"))
    for m in period.metrics:
        table.add_row(m.metric_id, m.bucket, count(m.values), ", ".join(m.rules) or "-",
                      count(m.reads), count(m.firings), ", ".join(m.used_by) or "-",
                      "drop" if m.drop_candidate else "keep")
    return table


def recovery(rule: Any) -> str:
    """"1 of 2 (1 too early)", or "-" for a rule that watches no metric level."""
    if rule.recovered is None:
        return "-"
    judged = rule.recovered + rule.not_recovered
    text = f"{rule.recovered} of {judged}"
    return text + (f" ({rule.too_early} too early)" if rule.too_early else "")


def _rules(period: PeriodReview) -> Table:
    table = _table("Rules", "rule", "fired", "escalations", "ack (median)", "ack in SLA",
                   "recovered in 2 check-ins")
    for r in period.rules:
        table.add_row(r.title, count(r.firings), count(r.escalations),
                      hours(r.median_hours_to_acknowledge), pct(r.acknowledged_within_sla),
                      recovery(r))
    return table


def _segments(period: PeriodReview) -> Table | Text:
    split = period.segments
    if split is None:
        return Text("Segments: run with --by FLOW.QUESTION (e.g. --by intake.hours_per_week "
                    "--bands 5,10) to split the clients by an answer.")
    metric = split.outcome_metric or "outcome"
    table = _table(f"Segments by {split.question}", "segment", "clients", "check-ins answered",
                   f"{metric} change (median)", "reached a milestone",
                   "weeks to milestone (median)")
    for s in split.segments:
        table.add_row(s.label, count(s.clients),
                      f"{s.checkins_answered}/{s.checkins_asked} ({pct(s.response_rate)})"
                      if s.checkins_asked else "-",
                      points(s.outcome_change_median), f"{s.reached_milestone}/{s.clients}",
                      weeks(s.median_weeks_to_milestone))
    return table


def _changes(review: Review) -> Table:
    now, then = review.current.period.label, review.previous.period.label
    table = _table(f"What changed since {then}", "figure", now, then, "change")
    for c in review.changes:
        table.add_row(c.figure, value(c, c.this), value(c, c.previous), difference(c))
    return table


def headlines(review: Review) -> list[str]:
    """The review in a few sentences: clients, the weakest touchpoints, the fade, the drops."""
    now = review.current
    lines = [f"{now.clients} clients had a touchpoint due; {review.previous.period.label} "
             f"had {review.previous.clients}."]
    lines += [f"Weakest: {w}." for w in now.worst] or ["Every touchpoint met its figure."]
    lines.append(f"Fade: {now.fade.sentence}." if now.fade
                 else "Fade: response never falls from one week to the next.")
    lines.append("Metrics to drop (no rule reads them, no report shows them): "
                 + (", ".join(now.to_drop) if now.to_drop else "none") + ".")
    return lines


def as_renderables(review: Review, width: int) -> list[RenderableType]:
    """The review for a terminal `width` columns wide."""
    now = review.current
    wide = width >= WIDE
    parts: list[RenderableType] = [
        Group(Text(title(review), style="bold"), *(Text(line) for line in headlines(review))),
        _map_table(now) if wide else _map_records(now), _owners(now), _weeks(now),
        _metrics(now) if wide else _metric_records(now),
        _rules(now) if wide else _rule_records(now), _segments(now), _changes(review)]
    parts.append(Text("Versions and variants: not yet recorded; every figure is for the "
                      "program as a whole.", style="dim"))
    return parts


def as_text(reviews: Sequence[Review], width: int) -> str:
    """The terminal rendering as plain text, for a file."""
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    for review in reviews:
        for part in as_renderables(review, width):
            console.print(part)
            console.print()
    return console.export_text()


# --- CSV and JSON -------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return "; ".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else value


def _records(period: PeriodReview) -> Iterator[tuple[str, str, str, Any]]:
    """(section, item, figure, value) for every figure of a period."""
    yield "period", "", "clients", period.clients
    yield "period", "", "check-in response", period.response_rate
    yield from _figures("map", period.touchpoints, "touchpoint_id", "title")
    yield from _figures("owners", period.owners, "owner")
    for n, sentence in enumerate(period.worst, start=1):
        yield "worst", str(n), "sentence", sentence
    yield from _figures("journey", period.weeks, "week")
    yield "journey", "", "fade", period.fade.sentence if period.fade else None
    yield from _figures("metrics", period.metrics, "metric_id", "title")
    yield from _figures("rules", period.rules, "rule_id", "title")
    yield "outcome", period.outcome_metric or "", "change median", period.outcome_change_median
    if period.segments is not None:
        yield from _figures(f"segments by {period.segments.question}",
                            period.segments.segments, "label")


def _figures(section: str, rows: Iterable[Any], key: str, *hidden: str
             ) -> Iterator[tuple[str, str, str, Any]]:
    """Each field of each row (a dataclass) but its `key` and `hidden` ones, as a record
    whose item is the row's key."""
    for row in rows:
        item = str(getattr(row, key))
        for f in dataclasses.fields(row):
            if f.name != key and f.name not in hidden:
                yield section, item, f.name, getattr(row, f.name)


CSV_COLUMNS = ("program", "period", "section", "item", "figure", "value")


def as_csv(reviews: Sequence[Review]) -> str:
    """Tidy CSV: one figure per line (program, period, section, item, figure, value)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for review in reviews:
        for period in (review.current, review.previous):
            for section, item, figure, raw in _records(period):
                writer.writerow([review.program_id, period.period.label, section, item,
                                 figure, _plain(raw)])
        for c in review.changes:
            for label, raw in ((review.current.period.label, c.this),
                               (review.previous.period.label, c.previous)):
                writer.writerow([review.program_id, label, "changes", c.figure, c.unit,
                                 _plain(raw)])
    return out.getvalue()


def _period_json(period: PeriodReview) -> dict[str, Any]:
    data = dataclasses.asdict(period)
    data["response_rate"] = period.response_rate
    data["to_drop"] = list(period.to_drop)
    data["fade_sentence"] = period.fade.sentence if period.fade else None
    for line, raw in zip(period.touchpoints, data["touchpoints"], strict=True):
        raw["headline"] = dict(zip(("figure", "rate"), line.headline, strict=True))
    return data


def as_json(reviews: Sequence[Review]) -> str:
    """Every figure as JSON: a list of reviews, each with both periods and the changes."""
    def default(value: object) -> str:
        if isinstance(value, date):
            return value.isoformat()
        raise TypeError(type(value).__name__)

    data = [{"program_id": r.program_id, "program_name": r.program_name,
             "group": dict(r.group), "current": _period_json(r.current),
             "previous": _period_json(r.previous),
             "changes": [dataclasses.asdict(c) for c in r.changes]} for r in reviews]
    return json.dumps(data, indent=2, default=default) + "\n"
