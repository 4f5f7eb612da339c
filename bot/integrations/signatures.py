"""Each sender's signing scheme, checked on the raw bytes of the body before it is parsed.

Stripe's is checked by the stripe library itself (see stripe_hooks). A verified request
yields a digest of its signature: the same digest twice is a replay.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

# How old a signed timestamp may be (Stripe's library uses the same five minutes).
TOLERANCE = timedelta(minutes=5)


class BadSignature(Exception):
    """The request is not from the sender, or not from now; the reason is for our log."""


def signature_digest(header: str) -> str:
    """What identifies one signed request without keeping the signature itself."""
    return hashlib.sha256(header.encode()).hexdigest()


def _hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _same(expected: str, given: str) -> bool:
    # As bytes: compare_digest refuses a str with non-ASCII characters (a forged header).
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def verify_calcom(body: bytes, header: str | None, secret: str) -> str:
    """Cal.com: X-Cal-Signature-256 is the hex HMAC-SHA256 of the raw body."""
    if not header:
        raise BadSignature("no X-Cal-Signature-256 header")
    if not _same(_hmac_hex(secret, body), header.strip().lower()):
        raise BadSignature("the signature does not match the body")
    return signature_digest(header.strip().lower())


def verify_calendly(body: bytes, header: str | None, key: str, *, now: datetime,
                    tolerance: timedelta = TOLERANCE) -> str:
    """Calendly: Calendly-Webhook-Signature is `t=TIMESTAMP,v1=HEX`, HEX the HMAC-SHA256 of
    "TIMESTAMP.BODY"; a timestamp further than `tolerance` from `now` is refused."""
    if not header:
        raise BadSignature("no Calendly-Webhook-Signature header")
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    stamp, given = parts.get("t", "").strip(), parts.get("v1", "").strip().lower()
    if not stamp.isdigit() or not given:
        raise BadSignature("the signature header is not t=...,v1=...")
    if not _same(_hmac_hex(key, stamp.encode() + b"." + body), given):
        raise BadSignature("the signature does not match the body")
    if abs(now.timestamp() - int(stamp)) > tolerance.total_seconds():
        raise BadSignature("the signature's timestamp is too old (or in the future)")
    return signature_digest(f"{stamp},{given}")


def verify_slack(body: bytes, timestamp: str | None, signature: str | None, secret: str, *,
                 now: datetime, tolerance: timedelta = TOLERANCE) -> str:
    """Slack: X-Slack-Signature is `v0=` and the hex HMAC-SHA256 of "v0:TIMESTAMP:BODY"."""
    # TIMESTAMP is X-Slack-Request-Timestamp; one further than `tolerance` is refused.
    if not timestamp or not signature:
        raise BadSignature("no X-Slack-Signature or X-Slack-Request-Timestamp header")
    stamp = timestamp.strip()
    # Twelve digits reach the year 33658; a longer one is not a time (and int() of a
    # few thousand digits raises).
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        raise BadSignature("the request timestamp is not a number of seconds")
    if not _same("v0=" + _hmac_hex(secret, b"v0:" + stamp.encode() + b":" + body),
                 signature.strip()):
        raise BadSignature("the signature does not match the body")
    if abs(now.timestamp() - int(stamp)) > tolerance.total_seconds():
        raise BadSignature("the signature's timestamp is too old (or in the future)")
    return signature_digest(signature.strip())
