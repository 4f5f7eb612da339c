"""The program report as a rich table for the terminal."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from services.report import ALL, Row, cells


def as_table(rows: Sequence[Row], title: str) -> Table:
    """A rich table for the terminal."""
    table = Table(title=title)
    short = ("program", "cohort", "enrolled", "active", "paused", "grad.", "dropped",
             "response", "flows done", "milestones", "outcome", "Δ median", "Δ q1", "Δ q3",
             "escal.", "ack h (median)", "ack in SLA", "next offered", "next taken")
    for name in short:
        table.add_column(name, justify="left" if name in ("program", "cohort", "outcome")
                         else "right")
    for row in rows:
        table.add_row(*cells(row), style="bold" if row.cohort == ALL else None)
    return table
