"""`coachbot report`: per program and cohort (month of enrolment), the figures of a
quarterly review, as a rich table, CSV, or one self-contained HTML file with charts."""

from __future__ import annotations

import csv
import html
import io
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from conversations.formatting import format_fixed, format_percent_value, format_signed
from conversations.program import Program
from conversations.variants import variant_label
from services.charts import bars_svg
from services.review_period import BadPeriod
from services.review_period import parse_day as strict_day
from services.unit_of_work import Runtime
from storage import report_queries as queries

ALL = "all"
# A date that is not YYYY-MM-DD, or a range that ends before it starts: the review's error.
BadRange = BadPeriod


def parse_day(value: str | None, option: str) -> date | None:
    """A strict YYYY-MM-DD date (no other ISO forms), or None when not given."""
    return None if value is None else strict_day(value, option)


@dataclass(frozen=True)
class Row:
    """One program's figures, for one cohort or all of them."""

    program_id: str
    cohort: str
    enrolled: int
    active: int
    paused: int
    graduated: int
    dropped: int
    response_rate: float | None  # 0..1
    flow_completion: float | None  # 0..1
    milestones: int
    outcome_metric: str | None
    outcome_median: float | None
    outcome_q1: float | None
    outcome_q3: float | None
    escalations: int
    ack_median_hours: float | None
    ack_within_sla: float | None  # 0..1
    next_offered: int = 0
    next_taken: int = 0
    # A row of one variant's enrolments (all cohorts), shown beside the other variants'.
    variant: bool = False


def quartiles(values: Sequence[float]) -> tuple[float, float, float] | None:
    """(Q1, median, Q3) by linear interpolation between data points; None without data."""
    if not values:
        return None
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def fold(program: Program, cohort: str, group: Sequence[queries.Facts]) -> Row:
    """The figures of a group of enrolments."""
    statuses = [f.status for f in group]
    metric = queries.outcome_metric(program)
    return Row(
        program_id=program.id, cohort=cohort, enrolled=len(group),
        active=statuses.count("active"), paused=statuses.count("paused"),
        graduated=statuses.count("graduated"), dropped=statuses.count("dropped"),
        response_rate=_share(sum(f.checkins_answered for f in group),
                             sum(f.checkins_due for f in group)),
        flow_completion=_share(sum(f.flows_completed for f in group),
                               sum(f.flows_started for f in group)),
        milestones=sum(f.milestones for f in group),
        outcome_metric=metric.id if metric else None,
        **_outcome_spread(group), **_escalation_figures(group),
        next_offered=sum(f.next_offered for f in group),
        next_taken=sum(f.next_taken for f in group))


def _outcome_spread(group: Sequence[queries.Facts]) -> dict[str, float | None]:
    """The outcome change's median and quartiles over the group (None without data)."""
    spread = quartiles(sorted(f.outcome_change for f in group if f.outcome_change is not None))
    q1, median, q3 = spread if spread else (None, None, None)
    return {"outcome_median": median, "outcome_q1": q1, "outcome_q3": q3}


def _escalation_figures(group: Sequence[queries.Facts]) -> dict[str, Any]:
    """How many escalations, the median hours to acknowledge them, the share within SLA."""
    escalated = [e for f in group for e in f.escalations]
    acked = sorted(hours for hours, _ in escalated if hours is not None)
    return {"escalations": len(escalated),
            "ack_median_hours": statistics.median(acked) if acked else None,
            "ack_within_sla": _share(sum(ok for _, ok in escalated), len(escalated))}


def build(rt: Runtime, *, program_id: str | None = None, start: date | None = None,
          end: date | None = None) -> list[Row]:
    """Every program's rows: each cohort, then all cohorts together. Empty: no enrolments."""
    if start is not None and end is not None and end < start:
        raise BadRange(f"--to {end} is before --from {start}")
    programs = rt.programs
    with rt.reading() as session:
        facts = queries.facts(session, programs, program_id=program_id, start=start, end=end)
    rows: list[Row] = []
    for pid in sorted({f.program_id for f in facts}):
        mine = [f for f in facts if f.program_id == pid]
        cohorts: dict[str, list[queries.Facts]] = {}
        for f in mine:
            cohorts.setdefault(f.cohort, []).append(f)
        rows += [fold(programs[pid], cohort, group) for cohort, group in sorted(cohorts.items())]
        rows.append(fold(programs[pid], ALL, mine))
        rows += variant_rows(programs[pid], mine)
    return rows


def variant_rows(program: Program, facts: Sequence[queries.Facts]) -> list[Row]:
    """One row per variant the enrolments were split into, side by side; none without."""
    drawn = {f.variant for f in facts}
    if drawn == {None}:
        return []
    order = [v.id for v in program.variants if v.id in drawn]
    order += sorted(v for v in drawn if v is not None and v not in order)
    order += [None] if None in drawn else []  # the remainder ran the program as written
    return [replace(fold(program.with_variant(v), variant_label(v),
                         [f for f in facts if f.variant == v]), variant=True) for v in order]


# --- rendering ---------------------------------------------------------------------------

COLUMNS = ("program", "cohort", "enrolled", "active", "paused", "graduated", "dropped",
           "check-in response", "flow completion", "milestones", "outcome metric",
           "outcome change median", "outcome change q1", "outcome change q3", "escalations",
           "median hours to acknowledge", "acknowledged within SLA", "next step offered",
           "next step taken")


def _pct(value: float | None, language: str) -> str:
    return "-" if value is None else format_percent_value(value, language, decimals=1)


def _num(value: float | None, language: str) -> str:
    return "-" if value is None else format_signed(value, language, decimals=2)


def _hours(value: float | None, language: str) -> str:
    return "-" if value is None else format_fixed(value, language)


def cells(row: Row, language: str = "en") -> list[str]:
    """A row as the strings every format shows, figures written the `language`'s way."""
    lang = language
    return [row.program_id, row.cohort, str(row.enrolled), str(row.active), str(row.paused),
            str(row.graduated), str(row.dropped), _pct(row.response_rate, lang),
            _pct(row.flow_completion, lang), str(row.milestones), row.outcome_metric or "-",
            _num(row.outcome_median, lang), _num(row.outcome_q1, lang),
            _num(row.outcome_q3, lang), str(row.escalations),
            _hours(row.ack_median_hours, lang), _pct(row.ack_within_sla, lang),
            str(row.next_offered), str(row.next_taken)]


def as_csv(rows: Sequence[Row]) -> str:
    """CSV with a header line; the same strings as the table, in English: a spreadsheet
    reads "75.5%" the same whatever the reader's language, not "75,5 %"."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(cells(row) for row in rows)
    return out.getvalue()


_STYLE = ("body{font-family:system-ui,sans-serif;margin:2em;color:#111}"
          "table{border-collapse:collapse;font-size:14px}th,td{border:1px solid #ddd;"
          "padding:4px 8px;text-align:right}th{background:#f3f4f6}td:first-child,"
          "td:nth-child(2){text-align:left}tr.all{font-weight:bold;background:#f9fafb}"
          ".charts{display:flex;flex-wrap:wrap;gap:1em}")


def as_html(rows: Sequence[Row], title: str, language: str = "en") -> str:
    """One self-contained HTML file: the table and, per program, inline SVG charts."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
             f"</title><style>{_STYLE}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>", "<table><thead><tr>"]
    parts += [f"<th>{html.escape(c)}</th>" for c in COLUMNS]
    parts.append("</tr></thead><tbody>")
    for row in rows:
        klass = " class='all'" if row.cohort == ALL else (" class='variant'" if row.variant
                                                          else "")
        shown = cells(row, language)
        parts.append(f"<tr{klass}>" + "".join(f"<td>{html.escape(c)}</td>" for c in shown)
                     + "</tr>")
    parts.append("</tbody></table>")
    for pid in dict.fromkeys(r.program_id for r in rows):
        parts.append(f"<h2>{html.escape(pid)}</h2><div class='charts'>")
        parts += _cohort_charts([r for r in rows if r.program_id == pid and r.cohort != ALL
                                 and not r.variant])
        parts += _variant_charts([r for r in rows if r.program_id == pid and r.variant])
        parts.append("</div>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _cohort_charts(cohorts: Sequence[Row]) -> list[str]:
    labels = [r.cohort for r in cohorts]
    charts = [bars_svg("Check-in response rate by cohort", labels,
                       [(r.response_rate or 0) * 100 for r in cohorts], percent=True),
              bars_svg("Enrolled by cohort", labels, [r.enrolled for r in cohorts])]
    if any(r.outcome_median is not None for r in cohorts):
        charts.append(bars_svg(f"Median change in {cohorts[0].outcome_metric} since intake",
                               labels, [r.outcome_median or 0 for r in cohorts]))
    return charts


def _variant_charts(variants: Sequence[Row]) -> list[str]:
    if not variants:
        return []
    names = [r.cohort for r in variants]
    return [bars_svg("Check-in response rate by variant", names,
                     [(r.response_rate or 0) * 100 for r in variants], percent=True),
            bars_svg("Flow completion by variant", names,
                     [(r.flow_completion or 0) * 100 for r in variants], percent=True)]
