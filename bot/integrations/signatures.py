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


def verify_calcom(body: bytes, header: str | None, secret: str) -> str:
    """Cal.com: X-Cal-Signature-256 is the hex HMAC-SHA256 of the raw body."""
    if not header:
        raise BadSignature("no X-Cal-Signature-256 header")
    if not hmac.compare_digest(_hmac_hex(secret, body), header.strip().lower()):
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
    if not hmac.compare_digest(_hmac_hex(key, stamp.encode() + b"." + body), given):
        raise BadSignature("the signature does not match the body")
    if abs(now.timestamp() - int(stamp)) > tolerance.total_seconds():
        raise BadSignature("the signature's timestamp is too old (or in the future)")
    return signature_digest(f"{stamp},{given}")
