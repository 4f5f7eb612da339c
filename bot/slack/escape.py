"""Escaping text for Slack mrkdwn, so a client's words can never become markup.

Slack's control sequences all start with `<` (`<!channel>`, `<!here>`, `<@U123>`,
`<https://x|label>`), so escaping &, < and > as Slack documents is what stops an injected
mention or link. Formatting characters (*, _, ~, `) are neutralised too, so an answer cannot
make itself look like bot text: a zero-width space after each keeps them literal.
"""

from __future__ import annotations

import re

_ZWSP = "\u200b"


def mrkdwn(text: str) -> str:
    """`text` made safe to place inside a mrkdwn field."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for mark in ("*", "_", "~", "`"):
        escaped = escaped.replace(mark, mark + _ZWSP)
    return escaped


# Slack's control sequences in a message someone typed: <@U123>, <#C123|name>,
# <!here>, <https://x|label>, <mailto:a@b|a@b>.
_CONTROL = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")


def plain(text: str) -> str:
    """A Slack message as plain words for another platform (the reverse of `mrkdwn`)."""
    # Links become "label (url)", mentions "@someone", and Slack's &amp; &lt; &gt; are
    # decoded once: the client reads what the coach typed, with nothing that acts.

    def readable(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("#"):
            return f"#{label}" if label else "#channel"
        if target.startswith(("@", "!")):
            return "@someone"  # a mention means nothing on the client's platform
        return f"{label} ({target})" if label and label != target else target

    replaced = _CONTROL.sub(readable, text)
    return replaced.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
