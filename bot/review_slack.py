"""The review delivered in Slack: a Block Kit summary (the weakest touchpoints, the fade,
the metrics to drop) and the HTML review as a file, to the program owner or the team."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.review_render import pct
from bot.slack.escape import mrkdwn
from bot.slack.slack_sender import explain
from services.review import Review
from services.review_recipient import Recipient


class NotPosted(RuntimeError):
    """Slack refused the summary or the file; the message says why in plain words."""


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def blocks(review: Review, filename: str) -> list[dict]:
    """The summary of one program's review."""
    now, then = review.current, review.previous
    worst = "\n".join(f"• {mrkdwn(line)}" for line in now.worst) or \
        "Every touchpoint met its figure."
    fade = mrkdwn(now.fade.sentence) if now.fade else \
        "Response never falls from one week to the next."
    # Metric ids are validated identifiers: safe inside code spans as they are.
    drop = ", ".join(f"`{metric}`" for metric in now.to_drop) or "none"
    return [
        {"type": "header", "text": {"type": "plain_text", "emoji": False, "text":
                                    f"Quarterly review {now.period.label}: "
                                    f"{review.program_name}"[:150]}},
        _section(f"*{now.clients:,} clients* had a touchpoint due ({then.period.label}: "
                 f"{then.clients:,}). Check-in response {pct(now.response_rate)} "
                 f"({then.period.label}: {pct(then.response_rate)})."),
        _section(f"*Weakest touchpoints*\n{worst}"),
        _section(f"*The fade*\n{fade}"),
        _section(f"*Metrics to drop* (no rule reads them, no report shows them)\n{drop}"),
        {"type": "context", "elements": [{"type": "mrkdwn", "text":
                                          f"The whole review is attached: {filename}"}]},
    ]


def fallback(review: Review) -> str:
    """The notification text (and what clients without Block Kit show)."""
    now = review.current
    return (f"Quarterly review {now.period.label} of {review.program_name}: "
            + ("; ".join(now.worst) or "every touchpoint met its figure") + ".")


def post(client: WebClient, to: Recipient, reviews: Sequence[Review], page: str) -> str:
    """Post each review's summary, then the HTML file; the channel it all went to."""
    label = reviews[0].current.period.label
    filename = f"coachbot-review-{label}.html"
    try:
        channel = to.slack_id
        if to.is_person:
            channel = str(client.conversations_open(users=to.slack_id)["channel"]["id"])
        for review in reviews:
            client.chat_postMessage(channel=channel, text=fallback(review),
                                    blocks=blocks(review, filename), unfurl_links=False)
        client.files_upload_v2(channel=channel, content=page.encode("utf-8"),
                               filename=filename, title=f"coachbot review {label}")
    except SlackApiError as exc:
        raise NotPosted(f"Slack did not take the review: {explain(exc, to.slack_id)}") from None
    return channel
