"""What `coachbot review` does between its options and its output.

Checks every input before any work (a bad quarter, a missing --out folder, a --by that
cannot be split on), asks the review service for the figures, and renders them. Every
problem is a `BadReview` with one line saying what is wrong; the CLI exits 2 with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from rich.console import Console

from bot.composition import App
from bot.review_html import as_html
from bot.review_render import as_csv, as_json, as_renderables, as_text
from services.review import Review, ReviewError, review
from services.review_period import BadPeriod, Period, choose
from services.review_recipient import NoRecipient, Recipient, review_recipient
from services.review_segments import BadSegment

FORMATS = ("table", "csv", "html", "json")
# A table written to a file is read in an editor: wide enough for the full map.
FILE_WIDTH = 120


class BadReview(ValueError):
    """One line saying what is wrong with the request."""


@dataclass(frozen=True)
class Request:
    """The options of one `coachbot review`."""

    program: str | None = None
    quarter: str | None = None
    start: str | None = None
    end: str | None = None
    by: str | None = None
    bands: str | None = None
    format: str = "table"
    out: Path | None = None


def check(request: Request, today: date) -> Period:
    """Everything that can be checked without the database; the period asked for."""
    if request.format not in FORMATS:
        raise BadReview(f"--format is {', '.join(FORMATS[:-1])} or {FORMATS[-1]}, "
                        f"not '{request.format}'")
    if request.out is not None:
        if request.out.is_dir():
            raise BadReview(f"--out {request.out} is a folder; give a file name in it")
        if not request.out.parent.is_dir():
            raise BadReview(f"--out {request.out}: the folder {request.out.parent} does not "
                            "exist")
    if request.bands is not None and request.by is None:
        raise BadReview("--bands needs --by (the number question to split on)")
    try:
        return choose(quarter=request.quarter, start=request.start, end=request.end,
                      today=today)
    except BadPeriod as exc:
        raise BadReview(str(exc)) from None


def check_slack(app: App) -> Recipient:
    """Who the review goes to in Slack; checked before the review is worked out."""
    if not app.settings.slack_bot_token:
        raise BadReview("--to-slack needs COACHBOT_SLACK_BOT_TOKEN (see docs/slack.md)")
    try:
        return review_recipient(app.rt)
    except NoRecipient as exc:
        raise BadReview(str(exc)) from None


def to_slack(app: App, to: Recipient, reviews: list[Review]) -> str:
    """Post the summary and the HTML file; the line that says where it went."""
    from bot.review_slack import NotPosted, post
    from bot.slack.slack_sender import web_client

    client = web_client(app.settings.slack_bot_token or "", app.settings.slack_api_url)
    try:
        post(client, to, reviews, as_html(reviews))
    except NotPosted as exc:
        raise BadReview(str(exc)) from None
    return (f"Review of {reviews[0].current.period.label} sent to {to.name} "
            f"({to.slack_id}) in Slack.")


def figures(app: App, request: Request, period: Period) -> list[Review]:
    """The reviews asked for."""
    try:
        return review(app.rt, period, program_id=request.program, by=request.by,
                      bands=request.bands)
    except (ReviewError, BadSegment) as exc:
        raise BadReview(str(exc)) from None


def render(reviews: list[Review], request: Request, console: Console) -> str | None:
    """Print to `console`, or return the text to write to --out (or stdout)."""
    if request.format == "table":
        if request.out is None:
            for one in reviews:
                for part in as_renderables(one, console.width):
                    console.print(part)
                    console.print()
            return None
        return as_text(reviews, FILE_WIDTH)
    if request.format == "csv":
        return as_csv(reviews)
    if request.format == "json":
        return as_json(reviews)
    return as_html(reviews)
