"""Escaping text for Slack mrkdwn, so a client's words can never become markup.

Slack's control sequences all start with `<` (`<!channel>`, `<!here>`, `<@U123>`,
`<https://x|label>`), so escaping &, < and > as Slack documents is what stops an injected
mention or link. Formatting characters (*, _, ~, `) are neutralised too, so an answer cannot
make itself look like bot text: a zero-width space after each keeps them literal.
"""

from __future__ import annotations

_ZWSP = "\u200b"


def mrkdwn(text: str) -> str:
    """`text` made safe to place inside a mrkdwn field."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for mark in ("*", "_", "~", "`"):
        escaped = escaped.replace(mark, mark + _ZWSP)
    return escaped
