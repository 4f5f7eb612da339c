"""`coachbot preview` for an 80-column terminal and as an HTML journey map.

A narrow terminal gets fewer columns: the occurrences (when, stage, touchpoint) in one
table, and what each touchpoint sends, who owns it, its SLA and what happens when it is
not answered once per touchpoint below it, instead of on every line.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from bot.journey_map import if_unanswered, page, sla_text
from conversations.program import Program
from scheduler.occurrences import Occurrence, stage_spans


def narrow(program: Program, items: Sequence[Occurrence], enrolled: datetime, zone: str,
           when: str) -> list[RenderableType]:
    """The preview in two parts that each fit 80 columns."""
    local = ZoneInfo(zone)
    table = Table(title=f"{program.name}: client enrolled {when} ({zone})",
                  title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for column in ("date", "time", "stage", "touchpoint"):
        table.add_column(column, overflow="fold")
    for item in items:
        moment = item.due.astimezone(local)
        table.add_row(f"{moment:%a %Y-%m-%d}", f"{moment:%H:%M}", item.stage,
                      item.touchpoint.title or item.touchpoint.id)
    lines: list[RenderableType] = [Text("Touchpoints", style="bold underline")]
    for tp in program.touchpoints:
        sends = f"flow {tp.send.flow}" if tp.send.flow else "a message"
        offset = tp.when.before_session or tp.when.after_session
        if offset is not None:
            side = "before" if tp.when.before_session else "after"
            sends += f", {int(offset.total_seconds() // 3600)}h {side} each session"
        lines.append(Text(f"{tp.title or tp.id} · {tp.owner} · {sla_text(tp.sla)}",
                          style="bold"))
        lines.append(Text(f"  sends {sends} · {if_unanswered(tp)}"))
    return [table, Group(*lines)]


def html_page(program: Program, items: Sequence[Occurrence], enrolled: datetime,
              zone: str) -> str:
    """The journey map page for a client enrolled at `enrolled`."""
    spans = stage_spans(program, program.stages[0].id, enrolled)
    return page(program, items, spans, enrolled, zone)
