"""Events as Stripe, Cal.com and Calendly send them: same JSON shapes, signed by each
sender's documented scheme, posted over real HTTP to the bot's server."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any

STRIPE_SECRET = "whsec_test_coachbot_0123456789"
CALCOM_SECRET = "calcom-secret-for-tests"
CALENDLY_KEY = "calendly-signing-key-for-tests"

_ids = itertools.count(1)


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, headers, and the body (JSON when it is JSON)."""

    status: int
    headers: dict[str, str]
    body: Any

    @property
    def error(self) -> dict[str, Any]:
        """The `error` object of our one error shape."""
        return self.body["error"]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the test reads the redirect itself


def request(url: str, method: str = "GET", body: bytes | None = None,
            headers: dict[str, str] | None = None) -> Answer:
    """One HTTP request; redirects are answers, not followed."""
    sent = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(sent, timeout=15) as response:
            status, found, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as refused:
        status, found, raw = refused.code, dict(refused.headers), refused.read()
    try:
        parsed: Any = json.loads(raw)
    except ValueError:
        parsed = raw.decode("utf-8", "replace")
    return Answer(status, found, parsed)


def _sent_at() -> str:
    """A distinct send time for each event, as the tools stamp theirs."""
    n = next(_ids)
    return f"2026-03-02T{8 + n // 3600 % 12:02d}:{n // 60 % 60:02d}:{n % 60:02d}.000Z"


def hmac_hex(secret: str, message: str | bytes) -> str:
    data = message.encode() if isinstance(message, str) else message
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


# --- Stripe ------------------------------------------------------------------------------


def stripe_event(kind: str, obj: dict[str, Any], *, event_id: str | None = None
                 ) -> dict[str, Any]:
    """An event in Stripe's envelope."""
    return {"id": event_id or f"evt_test_{next(_ids):06d}", "object": "event",
            "api_version": "2025-03-31", "created": int(time.time()), "livemode": False,
            "type": kind, "data": {"object": obj}}


def checkout(session_id: str, *, email: str = "ana.lima@example.com", name: str = "Ana Lima",
             zone: str | None = "Europe/Berlin", mode: str = "payment",
             reference: str | None = None) -> dict[str, Any]:
    """A completed Checkout Session as Stripe sends it: no line items (they are not in
    the event); the price is read from the API."""
    return {"id": session_id, "object": "checkout.session", "mode": mode,
            "payment_status": "paid", "status": "complete",
            "customer_details": {"email": email, "name": name},
            "metadata": {"timezone": zone} if zone else {},
            "client_reference_id": reference,
            "payment_intent": f"pi_{session_id}" if mode == "payment" else None,
            "subscription": f"sub_{session_id}" if mode == "subscription" else None}


def stripe_signature(payload: str, *, secret: str = STRIPE_SECRET,
                     at: int | None = None) -> str:
    """Stripe-Signature: t=TIMESTAMP,v1=HMAC_SHA256(secret, "TIMESTAMP.PAYLOAD")."""
    stamp = int(time.time()) if at is None else at
    return f"t={stamp},v1={hmac_hex(secret, f'{stamp}.{payload}')}"


def post_stripe(base: str, event: dict[str, Any], *, signature: str | None = None,
                payload: str | None = None) -> Answer:
    """POST the event to /hooks/stripe, signed like Stripe signs it unless told otherwise."""
    body = payload if payload is not None else json.dumps(event)
    headers = {"Content-Type": "application/json; charset=utf-8",
               "Stripe-Signature": signature if signature is not None
               else stripe_signature(body)}
    return request(f"{base}/hooks/stripe", "POST", body.encode(), headers)


# --- Cal.com -------------------------------------------------------------------------------


def calcom_booking(kind: str, uid: str, start: datetime, *,
                   email: str = "ana.lima@example.com", reschedule_uid: str | None = None,
                   created_at: str | None = None) -> dict[str, Any]:
    """A Cal.com webhook body: triggerEvent, createdAt and the booking as payload."""
    payload: dict[str, Any] = {
        "type": "coaching-60", "title": "Coaching session between Casey Coach and Ana Lima",
        "startTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "uid": uid,
        "bookingId": next(_ids), "status": "CANCELLED" if "CANCEL" in kind else "ACCEPTED",
        "organizer": {"name": "Casey Coach", "email": "casey@example.com",
                      "timeZone": "Europe/London"},
        "attendees": [{"name": "Ana Lima", "email": email, "timeZone": "Europe/Berlin"}]}
    if reschedule_uid:
        payload["rescheduleUid"] = reschedule_uid
    return {"triggerEvent": kind, "createdAt": created_at or _sent_at(), "payload": payload}


def post_calcom(base: str, body: dict[str, Any], *, secret: str = CALCOM_SECRET,
                signature: str | None = None) -> Answer:
    """POST to /hooks/calcom with X-Cal-Signature-256 = hex HMAC-SHA256 of the raw body."""
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json",
               "X-Cal-Signature-256": signature if signature is not None
               else hmac_hex(secret, raw)}
    return request(f"{base}/hooks/calcom", "POST", raw, headers)


# --- Calendly ------------------------------------------------------------------------------


def calendly_invitee(kind: str, invitee: str, start: datetime, *,
                     email: str = "ana.lima@example.com", old_invitee: str | None = None,
                     new_invitee: str | None = None) -> dict[str, Any]:
    """A Calendly webhook body: invitee.created or invitee.canceled."""
    event_uri = f"https://api.calendly.com/scheduled_events/EV{next(_ids):06d}"
    return {"event": kind, "created_at": _sent_at(),
            "created_by": "https://api.calendly.com/users/CASEY",
            "payload": {"uri": invitee, "email": email, "name": "Ana Lima",
                        "status": "canceled" if kind == "invitee.canceled" else "active",
                        "timezone": "Europe/Berlin", "event": event_uri,
                        "rescheduled": new_invitee is not None,
                        "old_invitee": old_invitee, "new_invitee": new_invitee,
                        "scheduled_event": {
                            "uri": event_uri, "name": "Coaching session",
                            "start_time": start.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
                            "event_memberships": [{"user_name": "Casey Coach"}]}}}


def post_calendly(base: str, body: dict[str, Any], *, at: datetime, key: str = CALENDLY_KEY,
                  signature: str | None = None) -> Answer:
    """POST to /hooks/calendly with Calendly-Webhook-Signature t=...,v1=HMAC("t.body")."""
    raw = json.dumps(body)
    stamp = int(at.timestamp())
    header = signature if signature is not None else \
        f"t={stamp},v1={hmac_hex(key, f'{stamp}.{raw}')}"
    return request(f"{base}/hooks/calendly", "POST", raw.encode(),
                   {"Content-Type": "application/json", "Calendly-Webhook-Signature": header})
