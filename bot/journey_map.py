"""`coachbot preview FILE --format html`: the program as a timeline on one page.

Stages are bands across the journey; each touchpoint has its own lane, labelled with its
owner, SLA and what happens when it is not answered, with a mark wherever it falls. The
moments that matter most are highlighted: one-off touchpoints (a welcome, a week-N check,
the final review) are large labelled marks, recurring ones small ticks; a touchpoint that
flags a human when unanswered is outlined in red. Touchpoints tied to coaching sessions
have no date and are listed under the timeline. One self-contained file, inline SVG.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.review_html import STYLE
from conversations.program import Program, Touchpoint
from scheduler.occurrences import Occurrence, StageSpan

WIDTH = 960
LABEL_W = 320  # left column: the touchpoint's name, owner, SLA and failure mode
TOP = 70
LANE_H = 54
BANDS = ("#dbeafe", "#dcfce7", "#fef9c3", "#fce7f3", "#ede9fe", "#e0f2fe")
RECURRING = ("weekly", "cron")


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def sla_text(value: timedelta | None) -> str:
    """An SLA in hours, or days from three days up."""
    if value is None:
        return "no SLA"
    hours = int(value.total_seconds() // 3600)
    return f"SLA {hours}h" if hours < 72 else f"SLA {hours // 24}d"


def if_unanswered(tp: Touchpoint) -> str:
    """What happens when the touchpoint is not answered, in a few words."""
    policy = tp.on_no_answer
    if tp.send.flow is None:
        return "nothing to answer"
    if policy is None:
        return "unanswered: nothing happens"
    every = int(policy.remind_after.total_seconds() // 3600)
    return (f"unanswered: remind every {every}h, at most {policy.max_reminders}x, then "
            f"{policy.then.replace('_', ' ')}")


def _short_unanswered(tp: Touchpoint) -> str:
    """if_unanswered, short enough for the timeline's label column."""
    policy = tp.on_no_answer
    if tp.send.flow is None or policy is None:
        return if_unanswered(tp)
    every = int(policy.remind_after.total_seconds() // 3600)
    return (f"no answer: {policy.max_reminders}x every {every}h, then "
            f"{policy.then.replace('_', ' ')}")


def flags_a_human(tp: Touchpoint) -> bool:
    return tp.on_no_answer is not None and tp.on_no_answer.then in ("flag_coach", "escalate")


def timeline_svg(program: Program, items: Sequence[Occurrence], spans: Sequence[StageSpan],
                 enrolled: datetime) -> str:
    """The journey as an SVG timeline: days since enrolment across, one lane a touchpoint."""
    t = _Timeline(program, items, spans, enrolled)
    parts = [f'<text x="{WIDTH / 2}" y="20" text-anchor="middle" font-size="16" '
             f'font-weight="bold">{_e(program.name)}: the journey</text>',
             *t.legend(), *t.bands()]
    for lane, tp in enumerate(t.dated):
        parts.extend(t.lane(lane, tp))
    parts.extend(t.axis())
    return (f'<svg class="chart journey" viewBox="0 0 {WIDTH} {t.height}" role="img" '
            f'aria-labelledby="journey-title" xmlns="http://www.w3.org/2000/svg">'
            f'<title id="journey-title">{_e(program.name)}: stages and touchpoints over '
            f'time</title>{"".join(parts)}</svg>')


class _Timeline:
    """The timeline's geometry and its parts, each drawn by one method."""

    def __init__(self, program: Program, items: Sequence[Occurrence],
                 spans: Sequence[StageSpan], enrolled: datetime) -> None:
        self.program, self.items, self.spans, self.enrolled = program, items, spans, enrolled
        self.dated = [tp for tp in program.touchpoints
                      if not (tp.when.before_session or tp.when.after_session)]
        last = max([i.due for i in items] + [s.end for s in spans if s.end] + [enrolled])
        self.days = max(7.0, (last - enrolled).total_seconds() / 86400 + 3)
        self.plot_w = WIDTH - LABEL_W - 20
        self.height = TOP + LANE_H * len(self.dated) + 40

    def x(self, moment: datetime) -> float:
        """Where a moment lies across the plot."""
        return LABEL_W + self.plot_w * (moment - self.enrolled).total_seconds() / 86400 / self.days

    def _title(self, span: StageSpan) -> str:
        return self.program.stage(span.stage).title or span.stage

    def legend(self) -> list[str]:
        """The stages' colours, named once: a short stage (intake) is too thin to label."""
        parts, lx = [], LABEL_W
        for index, span in enumerate(self.spans):
            title = self._title(span)
            parts.append(f'<rect x="{lx}" y="28" width="10" height="10" '
                         f'fill="{BANDS[index % len(BANDS)]}" stroke="#9ca3af"/>'
                         f'<text x="{lx + 14}" y="37" font-size="11">{_e(title)}</text>')
            lx += 30 + 6.5 * len(title)
        return parts

    def bands(self) -> list[str]:
        """One coloured band per stage behind the lanes."""
        parts = []
        for index, span in enumerate(self.spans):
            end = span.end or self.enrolled + timedelta(days=self.days)
            left = self.x(max(span.start, self.enrolled))
            right = min(self.x(end), LABEL_W + self.plot_w)
            if right <= left:
                continue
            title = self._title(span)
            parts.append(f'<rect x="{left:.1f}" y="{TOP - 30}" width="{right - left:.1f}" '
                         f'height="{LANE_H * len(self.dated) + 30}" '
                         f'fill="{BANDS[index % len(BANDS)]}">'
                         f'<title>stage {_e(title)}</title></rect>'
                         f'<text x="{left + 4:.1f}" y="{TOP - 14}" font-size="12" '
                         f'font-weight="bold">{_e(title if right - left > 60 else "")}</text>')
        return parts

    def lane(self, lane: int, tp: Touchpoint) -> list[str]:
        """One touchpoint's lane: its label, owner and SLA, and a mark per occurrence."""
        y = TOP + lane * LANE_H + LANE_H / 2
        one_off = tp.when.kind not in RECURRING
        parts = [f'<line x1="{LABEL_W}" y1="{y}" x2="{LABEL_W + self.plot_w}" y2="{y}" '
                 f'stroke="#d1d5db"/>'
                 f'<text x="8" y="{y - 9}" font-size="13" font-weight="'
                 f'{"bold" if one_off else "normal"}">{_e(tp.title or tp.id)}</text>'
                 f'<text x="8" y="{y + 6}" font-size="11" fill="#4b5563">'
                 f'{_e(tp.owner)} · {_e(sla_text(tp.sla))}</text>'
                 f'<text x="8" y="{y + 19}" font-size="11" fill="#4b5563">'
                 f'{_e(_short_unanswered(tp))}</text>']
        outline = ' stroke="#dc2626" stroke-width="2"' if flags_a_human(tp) else ""
        for item in (i for i in self.items if i.touchpoint.id == tp.id):
            cx = self.x(item.due)
            label = (f"{tp.title or tp.id}: "
                     f"{item.due.astimezone(self.enrolled.tzinfo):%a %Y-%m-%d %H:%M}")
            if one_off:
                parts.append(f'<circle cx="{cx:.1f}" cy="{y}" r="8" fill="#f59e0b"{outline}>'
                             f'<title>{_e(label)}</title></circle>')
            else:
                parts.append(f'<rect x="{cx - 2:.1f}" y="{y - 7}" width="4" height="14" '
                             f'fill="#2563eb"{outline}><title>{_e(label)}</title></rect>')
        return parts

    def axis(self) -> list[str]:
        """Weeks since enrolment along the bottom."""
        axis_y = TOP + LANE_H * len(self.dated) + 4
        parts = []
        for week in range(0, int(self.days // 7) + 1, 2):
            wx = LABEL_W + self.plot_w * week * 7 / self.days
            parts.append(f'<text x="{wx:.1f}" y="{axis_y + 14}" font-size="11" '
                         f'text-anchor="middle">{week}</text>')
        parts.append(f'<text x="{LABEL_W + self.plot_w / 2}" y="{axis_y + 32}" font-size="12" '
                     f'text-anchor="middle">weeks since enrolment</text>')
        return parts


def page(program: Program, items: Sequence[Occurrence], spans: Sequence[StageSpan],
         enrolled: datetime, zone: str) -> str:
    """The whole page: the timeline, the session touchpoints, every occurrence listed."""
    local = ZoneInfo(zone)
    sessions = [tp for tp in program.touchpoints
                if tp.when.before_session or tp.when.after_session]
    session_rows = "".join(
        f"<tr><th scope='row'>{_e(tp.title or tp.id)}</th>"
        f"<td class='text' data-label='when'>{_e(_session_offset(tp))}</td>"
        f"<td class='text' data-label='owner'>{_e(tp.owner)}</td><td data-label='SLA'>"
        f"{_e(sla_text(tp.sla))}</td><td class='text' data-label='if unanswered'>"
        f"{_e(if_unanswered(tp))}</td></tr>" for tp in sessions)
    rows = "".join(
        f"<tr{' class=moment' if i.touchpoint.when.kind not in RECURRING else ''}>"
        f"<th scope='row'>{i.due.astimezone(local):%a %Y-%m-%d %H:%M}</th>"
        f"<td class='text' data-label='stage'>{_e(i.stage)}</td>"
        f"<td class='text' data-label='touchpoint'>{_e(i.touchpoint.title or i.touchpoint.id)}</td>"
        f"<td class='text' data-label='owner'>{_e(i.touchpoint.owner)}</td></tr>" for i in items)
    style = STYLE + ("tr.moment{background:#fffbeb;font-weight:600}"
                     "svg.journey{max-width:none}")
    legend = ("<p class='note'>Large amber marks: one-off moments; blue ticks: recurring "
              "touchpoints; a red outline: unanswered, a human is flagged.</p>")
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{_e(program.name)}: journey map</title><style>{style}</style></head>"
            f"<body><main><h1>{_e(program.name)}: journey map</h1>"
            f"<p>A client enrolled {enrolled:%a %Y-%m-%d %H:%M} ({_e(zone)}).</p>"
            + timeline_svg(program, items, spans, enrolled) + legend
            + ("<h2>Each coaching session</h2><table class='wide'><thead><tr>"
               "<th scope='col'>touchpoint</th><th scope='col' class='text'>when</th>"
               "<th scope='col' class='text'>owner</th><th scope='col'>SLA</th>"
               "<th scope='col' class='text'>if unanswered</th></tr></thead>"
               f"<tbody>{session_rows}</tbody></table>" if sessions else "")
            + "<h2>Every touchpoint, in order</h2><table><thead><tr><th scope='col'>when "
              "(local)</th><th scope='col' class='text'>stage</th><th scope='col' "
              "class='text'>touchpoint</th><th scope='col' class='text'>owner</th></tr>"
              f"</thead><tbody>{rows}</tbody></table></main></body></html>\n")


def _session_offset(tp: Touchpoint) -> str:
    offset = tp.when.before_session or tp.when.after_session
    assert offset is not None
    hours = int(offset.total_seconds() // 3600)
    return f"{hours}h {'before' if tp.when.before_session else 'after'} each session"
