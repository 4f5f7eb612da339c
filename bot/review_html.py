"""The review as one self-contained HTML file: readable on a laptop and a phone.

No scripts, no external files: styles inline, charts as inline SVG (`bot.svg_charts`).
Tables take the page's width and their cells wrap, so nothing scrolls sideways; charts
scale with their viewBox.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from bot.review_render import (
    count,
    difference,
    headlines,
    hours,
    number,
    of_sent,
    pct,
    points,
    recovery,
    sla,
    title,
    value,
    weeks,
)
from bot.svg_charts import Series, bar_chart, line_chart
from services.review import PeriodReview, Review

STYLE = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111827;
 margin:0;line-height:1.45}
main{max-width:1100px;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0}h2{font-size:1.2rem;margin:2rem 0 .5rem;
 border-bottom:2px solid #e5e7eb}h3{font-size:1rem;margin:1.2rem 0 .4rem}
.summary{background:#f3f4f6;border-radius:8px;padding:.6rem 1rem .6rem 2rem}
.summary li{margin:.2rem 0}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.5rem 0}
th,td{padding:.3rem .45rem;border-bottom:1px solid #e5e7eb;text-align:right;
 vertical-align:top;overflow-wrap:break-word}
thead th{background:#f9fafb;font-weight:600}
th:first-child,td:first-child,.text{text-align:left}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:1rem}
svg.chart{width:100%;max-width:760px;height:auto;display:block;font-family:inherit}
.note{color:#6b7280;font-size:.85rem}
@media (max-width:700px){
 main{padding:.5rem}table{font-size:.85rem}
 th,td{padding:.2rem .3rem;overflow-wrap:anywhere}
 /* A wide table becomes one card per row, each figure with its label: no sideways
    scrolling on a phone. */
 table.wide thead{display:none}
 table.wide,table.wide tbody,table.wide tr,table.wide th,table.wide td{display:block}
 table.wide tr{border:1px solid #e5e7eb;border-radius:6px;margin:.5rem 0;padding:.3rem .5rem}
 table.wide tbody th{border:0;padding:.1rem 0;font-size:1rem}
 table.wide td{display:flex;justify-content:space-between;gap:1rem;border:0;
  padding:.1rem 0;text-align:right}
 table.wide td::before{content:attr(data-label);color:#4b5563;text-align:left}
}
"""
# Tables with more columns than this turn into cards on a phone.
NARROW_COLUMNS = 5


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], *,
           text_columns: Sequence[int] = ()) -> str:
    """A table; each cell carries its column's name for the phone layout."""
    wide = " class='wide'" if len(header) > NARROW_COLUMNS else ""
    text = " class='text'"
    head = "".join(f"<th scope='col'{text if i in text_columns else ''}>{_e(h)}</th>"
                   for i, h in enumerate(header))
    body = []
    for row in rows:
        cells = []
        for index, cell in enumerate(row):
            if index == 0:
                cells.append(f"<th scope='row'>{_e(cell)}</th>")
            else:
                klass = text if index in text_columns else ""
                cells.append(f"<td{klass} data-label='{_e(header[index])}'>{_e(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<table{wide}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody>"
            "</table>")


def _delivery(now: PeriodReview, then: PeriodReview) -> str:
    rows = [[line.title, line.owner, count(line.planned), count(line.sent),
             of_sent(line.sent_on_time, line), of_sent(line.answered, line),
             of_sent(line.answered_within_sla, line), hours(line.median_hours_to_answer),
             sla(line), count(line.reminders), count(line.missed), count(line.flagged),
             (line.on_no_answer or "-").replace("_", " ")] for line in now.touchpoints]
    owners = [[o.owner, count(o.touchpoints), count(o.sent),
               pct(o.sent_on_time / o.sent if o.sent else None),
               pct(o.answered_within_sla / o.with_sla if o.with_sla else None),
               count(o.missed), count(o.flagged)] for o in now.owners]
    shown = [(a, b) for a, b in zip(now.touchpoints, then.touchpoints, strict=True)
             if a.sent or b.sent]
    chart = bar_chart(
        "Each touchpoint's figure: answered within SLA, or sent on time",
        y_label="% of sent", labels=[f"{a.title} ({a.headline[0]})" for a, _ in shown],
        series=[Series(now.period.label, [_percent(a.headline[1]) for a, _ in shown]),
                Series(then.period.label, [_percent(b.headline[1]) for _, b in shown],
                       dashed=True)], percent=True)
    return ("<h2>Delivery operations map</h2>"
            + _table(["touchpoint", "owner", "planned", "sent", "on time", "answered",
                      "within SLA", "median to answer", "SLA", "reminders", "missed",
                      "flagged", "if unanswered"], rows, text_columns=(1, 12))
            + "<h3>By owner role</h3>"
            + _table(["owner", "touchpoints", "sent", "on time", "within SLA", "missed",
                      "flagged"], owners)
            + chart)


def _percent(rate: float | None) -> float | None:
    return None if rate is None else rate * 100


def _journey(now: PeriodReview, then: PeriodReview) -> str:
    xs = sorted({w.week for w in now.weeks} | {w.week for w in then.weeks})
    this_weeks = {w.week: w for w in now.weeks}
    then_weeks = {w.week: w for w in then.weeks}

    def line(weeks_of: dict, attribute: str, scale: float = 1) -> list[float | None]:
        out = []
        for x in xs:
            raw = getattr(weeks_of[x], attribute) if x in weeks_of else None
            out.append(None if raw is None else raw * scale)
        return out

    metric = now.main_metric or "main metric"
    charts = [line_chart("Check-in response by program week", x_label="program week",
                         y_label="check-ins answered (%)", xs=xs, percent=True,
                         series=[Series(now.period.label, line(this_weeks, "response_rate",
                                                              100)),
                                 Series(then.period.label, line(then_weeks, "response_rate",
                                                               100), dashed=True)])]
    if now.main_metric is not None:
        charts.append(line_chart(f"{metric} by program week (mean)", x_label="program week",
                                 y_label=f"{metric} (mean)", xs=xs,
                                 series=[Series(now.period.label,
                                                line(this_weeks, "metric_mean")),
                                         Series(then.period.label,
                                                line(then_weeks, "metric_mean"),
                                                dashed=True)]))
    rows = [[str(w.week), count(w.asked), count(w.answered), pct(w.response_rate),
             number(w.metric_mean)] for w in now.weeks]
    fade = (f"<p>The fade: {_e(now.fade.sentence)}.</p>" if now.fade
            else "<p>Response never falls from one week to the next.</p>")
    return ("<h2>The journey over time</h2>" + fade
            + f"<div class='charts'>{''.join(charts)}</div>"
            + _table(["week", "asked", "answered", "response", f"{metric} (mean)"], rows))


def _data(now: PeriodReview) -> str:
    metrics = [[m.metric_id, m.bucket, count(m.values), ", ".join(m.rules) or "-",
                count(m.reads), count(m.firings), ", ".join(m.used_by) or "-",
                "drop" if m.drop_candidate else "keep"] for m in now.metrics]
    rules = [[r.title, r.condition.replace("_", " "), r.metric or "-", r.action,
              count(r.firings), count(r.escalations), hours(r.median_hours_to_acknowledge),
              pct(r.acknowledged_within_sla), recovery(r)] for r in now.rules]
    drop = ", ".join(now.to_drop) or "none"
    return ("<h2>The data layer</h2>"
            + f"<p>Candidates to drop (no rule reads them, no report shows them): "
              f"<strong>{_e(drop)}</strong>.</p>"
            + "<h3>Metrics</h3>"
            + _table(["metric", "bucket", "values stored", "read by rules", "reads",
                      "firings", "shown in", "keep?"], metrics, text_columns=(1, 3, 6))
            + "<h3>Rules</h3>"
            + _table(["rule", "when", "metric", "then", "fired", "escalations",
                      "hours to acknowledge (median)", "acknowledged within SLA",
                      "recovered within 2 check-ins"], rules, text_columns=(1, 2, 3)))


def _segments(now: PeriodReview) -> str:
    split = now.segments
    if split is None:
        return ("<h2>Segments</h2><p class='note'>Run with <code>--by FLOW.QUESTION</code> "
                "(for example <code>--by intake.hours_per_week --bands 5,10</code>) to split "
                "the clients by an answer.</p>")
    metric = split.outcome_metric or "outcome"
    rows = [[s.label, count(s.clients),
             f"{s.checkins_answered}/{s.checkins_asked} ({pct(s.response_rate)})"
             if s.checkins_asked else "-", points(s.outcome_change_median),
             f"{s.reached_milestone}/{s.clients}", weeks(s.median_weeks_to_milestone)]
            for s in split.segments]
    chart = bar_chart(f"Check-ins answered by {split.question}", y_label="% answered",
                      labels=[s.label for s in split.segments],
                      series=[Series(now.period.label,
                                     [_percent(s.response_rate) for s in split.segments])],
                      percent=True)
    return (f"<h2>Segments by {_e(split.question)}</h2>"
            + _table(["segment", "clients", "check-ins answered",
                      f"{metric} change (median)", "reached a milestone",
                      "weeks to milestone (median)"], rows)
            + chart)


def _changes(review: Review) -> str:
    now, then = review.current.period.label, review.previous.period.label
    rows = [[c.figure, value(c, c.this), value(c, c.previous), difference(c)]
            for c in review.changes]
    return (f"<h2>What changed since {_e(then)}</h2>"
            + _table(["figure", now, then, "change"], rows))


def _one(review: Review) -> str:
    now, then = review.current, review.previous
    summary = "".join(f"<li>{_e(line)}</li>" for line in headlines(review))
    return (f"<section><h1>{_e(title(review))}</h1>"
            f"<ul class='summary'>{summary}</ul>"
            + _delivery(now, then) + _journey(now, then) + _data(now) + _segments(now)
            + _changes(review)
            + "<p class='note'>Versions and variants: not yet recorded; every figure is for "
              "the program as a whole.</p></section>")


def as_html(reviews: Sequence[Review]) -> str:
    """The page: every review asked for, one after the other."""
    page_title = reviews[0].current.period.label if reviews else "review"
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>coachbot review {_e(page_title)}</title><style>{STYLE}</style></head>"
            "<body><main>" + "".join(_one(r) for r in reviews) + "</main></body></html>\n")
