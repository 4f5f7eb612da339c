"""POST /hooks/calcom and POST /hooks/calendly: bookings as coaching sessions.

Each sender's signature is checked on the raw bytes (bot.integrations.signatures) before
the body is parsed; a booking made, moved or cancelled then becomes one call to
`services.bookings`. Neither tool gives an event an id, so the id we dedupe on is made
from what names the event: its kind, the booking and when the tool sent it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.http_server import error
from bot.integrations.signatures import BadSignature, verify_calcom, verify_calendly
from services import bookings
from services.unit_of_work import Runtime
from services.webhook_events import Delivery, Replayed, acknowledge

log = logging.getLogger("coachbot.integrations.bookings")


class BadEvent(ValueError):
    """The body is signed but not an event we can read; `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _get(data: Any, path: str) -> Any:
    """`a.b.0.c` out of nested JSON; BadEvent naming the path when it is not there."""
    value = data
    for part in path.split("."):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and value.get(part) is not None:
            value = value[part]
        else:
            raise BadEvent(path, "missing")
    return value


def _time(data: Any, path: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(_get(data, path)).replace("Z", "+00:00"))
    except ValueError:
        raise BadEvent(path, "not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise BadEvent(path, "a time without its zone")
    return moment


def _event_id(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


class BookingHooks:
    """The Cal.com and Calendly webhook endpoints (each only when its secret is set)."""

    def __init__(self, runtime: Runtime, *, calcom_secret: str | None = None,
                 calendly_key: str | None = None) -> None:
        self.runtime = runtime
        self.calcom_secret = calcom_secret
        self.calendly_key = calendly_key

    def register(self, app: web.Application) -> None:
        """Add the routes whose secrets are configured."""
        if self.calcom_secret:
            app.router.add_post("/hooks/calcom", self.calcom)
        if self.calendly_key:
            app.router.add_post("/hooks/calendly", self.calendly)

    async def calcom(self, request: web.Request) -> web.Response:
        raw = await request.read()
        assert self.calcom_secret is not None
        try:
            signature = verify_calcom(raw, request.headers.get("X-Cal-Signature-256"),
                                      self.calcom_secret)
        except BadSignature as exc:
            return _refused("cal.com", exc)
        return await self._handle(raw, signature, "calcom", self._calcom_call)

    async def calendly(self, request: web.Request) -> web.Response:
        raw = await request.read()
        assert self.calendly_key is not None
        try:
            signature = verify_calendly(raw, request.headers.get("Calendly-Webhook-Signature"),
                                        self.calendly_key, now=self.runtime.clock.now())
        except BadSignature as exc:
            return _refused("calendly", exc)
        return await self._handle(raw, signature, "calendly", self._calendly_call)

    async def _handle(self, raw: bytes, signature: str, source: str,
                      translate: Callable[[dict, str], Callable[[], str]]) -> web.Response:
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise BadEvent("(body)", "not a JSON object")
            call = translate(body, signature)
            outcome = await asyncio.to_thread(call)
        except json.JSONDecodeError:
            return error(400, "malformed_json", "the body is not JSON")
        except BadEvent as exc:
            return error(400, "invalid", str(exc), exc.field)
        except Replayed:
            return error(400, "replayed", "this signed request was received before")
        log.info("%s event outcome=%s", source, outcome)
        return web.json_response({"received": True, "outcome": outcome})

    def _calcom_call(self, body: dict, signature: str) -> Callable[[], str]:
        kind = str(body.get("triggerEvent", ""))
        if kind not in ("BOOKING_CREATED", "BOOKING_RESCHEDULED", "BOOKING_CANCELLED"):
            delivery = Delivery("calcom", _event_id(kind, body.get("createdAt")), signature)
            return lambda: acknowledge(self.runtime, delivery)  # PING and the like
        uid = str(_get(body, "payload.uid"))
        delivery = Delivery("calcom", _event_id(kind, uid, body.get("createdAt")), signature)
        email = _optional(body, "payload.attendees.0.email")
        if kind == "BOOKING_CANCELLED":
            return lambda: bookings.cancelled(self.runtime, delivery, source="calcom",
                                              external_id=uid, email=email)
        event = bookings.Booked(
            source="calcom", external_id=uid, email=email,
            starts_at=_time(body, "payload.startTime"),
            replaces=_optional(body, "payload.rescheduleUid") if kind == "BOOKING_RESCHEDULED"
            else None, organizer=_optional(body, "payload.organizer.name"))
        return lambda: bookings.booked(self.runtime, delivery, event)

    def _calendly_call(self, body: dict, signature: str) -> Callable[[], str]:
        kind = str(body.get("event", ""))
        if kind not in ("invitee.created", "invitee.canceled"):
            delivery = Delivery("calendly", _event_id(kind, body.get("created_at")), signature)
            return lambda: acknowledge(self.runtime, delivery)
        invitee = str(_get(body, "payload.uri"))
        delivery = Delivery("calendly", _event_id(kind, invitee, body.get("created_at")),
                            signature)
        email = _optional(body, "payload.email")
        if kind == "invitee.canceled":
            rescheduled = bool((body.get("payload") or {}).get("rescheduled"))
            return lambda: bookings.cancelled(self.runtime, delivery, source="calendly",
                                              external_id=invitee, email=email,
                                              rescheduled=rescheduled)
        event = bookings.Booked(
            source="calendly", external_id=invitee, email=email,
            starts_at=_time(body, "payload.scheduled_event.start_time"),
            replaces=_optional(body, "payload.old_invitee"),
            organizer=_optional(body, "payload.scheduled_event.event_memberships.0.user_name"))
        return lambda: bookings.booked(self.runtime, delivery, event)


def _optional(data: Any, path: str) -> str | None:
    try:
        return str(_get(data, path))
    except BadEvent:
        return None


def _refused(sender: str, exc: BadSignature) -> web.Response:
    log.warning("%s event refused: %s", sender, exc)
    return error(401, "bad_signature", "the signature does not verify")
