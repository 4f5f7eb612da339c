"""The program report in the terminal: a table when wide, short records when narrow."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from services.report import ALL, Row, cells


def as_table(rows: Sequence[Row], title: str, language: str = "en") -> Table:
    """A rich table for the terminal, figures written the `language`'s way."""
    table = Table(title=title)
    short = ("program", "cohort", "enrolled", "active", "paused", "grad.", "dropped",
             "response", "flows done", "milestones", "outcome", "Δ median", "Δ q1", "Δ q3",
             "escal.", "ack h (median)", "ack in SLA", "next offered", "next taken")
    for name in short:
        table.add_column(name, justify="left" if name in ("program", "cohort", "outcome")
                         else "right")
    for row, following in zip(rows, [*rows[1:], None], strict=True):
        # The variants, side by side, under a line of their own.
        table.add_row(*cells(row, language), style="bold" if row.cohort == ALL else None,
                      end_section=following is not None and following.variant
                      and not row.variant)
    return table


def variants_table(rows: Sequence[Row], title: str, language: str = "en") -> Table:
    """Variants side by side: one column per variant, one line per figure."""
    table = Table(title=title)
    table.add_column("")
    for row in rows:
        table.add_column(row.cohort.removeprefix("variant "), justify="right")
    labels = ("enrolled", "active", "paused", "graduated", "dropped", "check-in response",
              "flows completed", "milestones", "outcome metric", "outcome change median",
              "outcome change q1", "outcome change q3", "escalations")
    columns = [cells(row, language)[2:15] for row in rows]
    for index, label in enumerate(labels):
        table.add_row(label, *(column[index] for column in columns))
    return table


# Below this width the report is one short record per row instead of a 17-column table.
WIDE = 160


def as_records(rows: Sequence[Row], title: str, language: str = "en") -> Group:
    """The report for a narrow terminal: each program and cohort as a few short lines."""
    parts: list[RenderableType] = [Text(title, style="bold")]
    for row in rows:
        c = cells(row, language)
        parts += [
            Text(f"{row.program_id} · {'all cohorts' if row.cohort == ALL else row.cohort}",
                 style="bold underline" if row.cohort == ALL else "bold"),
            Text(f"  enrolled {c[2]} · active {c[3]} · paused {c[4]} · graduated {c[5]} · "
                 f"dropped {c[6]}"),
            Text(f"  check-in response {c[7]} · flows completed {c[8]} · milestones {c[9]}"),
            Text(f"  {c[10]} change since intake: median {c[11]}, q1 {c[12]}, q3 {c[13]}"),
            Text(f"  escalations {c[14]} · acknowledged in {c[15]} h (median) · "
                 f"{c[16]} within SLA")]
    return Group(*parts)
