"""POST /hooks/stripe: Stripe's events, verified by the stripe library, as service calls.

`stripe.Webhook.construct_event` checks the Stripe-Signature header against the endpoint
secret on the raw bytes (and its timestamp against five minutes) before the body is
parsed; only then is the event turned into a neutral call to `services.payments`.

A checkout's price is not in Stripe's event unless line items were expanded: when they
are missing it is read from the API (`COACHBOT_STRIPE_API_KEY`, a restricted key that
may read Checkout Sessions), outside any database transaction.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import stripe
from aiohttp import web

from bot.http_server import error
from bot.integrations.signatures import signature_digest
from services import payments
from services.unit_of_work import Runtime
from services.webhook_events import Delivery, Replayed, acknowledge

log = logging.getLogger("coachbot.integrations.stripe")

PATH = "/hooks/stripe"
PAID = ("paid", "no_payment_required")


class StripeHooks:
    """The Stripe webhook endpoint."""

    def __init__(self, runtime: Runtime, *, secret: str, api_key: str | None = None,
                 api_url: str | None = None) -> None:
        self.runtime = runtime
        self.secret = secret
        self.client = None
        if api_key:
            self.client = stripe.StripeClient(
                api_key, base_addresses={"api": api_url} if api_url else None,
                max_network_retries=2)

    def register(self, app: web.Application) -> None:
        """Add the route to the HTTP server."""
        app.router.add_post(PATH, self.post)

    async def post(self, request: web.Request) -> web.Response:
        raw = await request.read()
        header = request.headers.get("Stripe-Signature")
        try:
            event = stripe.Webhook.construct_event(raw, header, self.secret)
        except stripe.SignatureVerificationError as exc:
            log.warning("stripe event refused: %s", str(exc).split(".")[0][:80])
            return error(401, "bad_signature", "the Stripe-Signature header does not verify")
        except ValueError:
            return error(400, "malformed_json", "the body is not a Stripe event")
        data = event.to_dict()
        delivery = Delivery("stripe", str(data.get("id", ""))[:128],
                            signature_digest(header or ""))
        try:
            outcome = await self._dispatch(delivery, str(data.get("type", "")),
                                           data.get("data", {}).get("object", {}))
        except Replayed:
            return error(400, "replayed", "this signed request was received before")
        log.info("stripe event=%s type=%s outcome=%s", delivery.event_id, data.get("type"),
                 outcome)
        return web.json_response({"received": True, "outcome": outcome})

    async def _dispatch(self, delivery: Delivery, kind: str, obj: dict[str, Any]) -> str:
        run = asyncio.to_thread
        if kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded") \
                and obj.get("payment_status") in PAID:
            checkout = await self._checkout(obj)
            return await run(payments.checkout_completed, self.runtime, delivery, checkout)
        if kind == "charge.refunded" and obj.get("payment_intent"):
            return await run(payments.refunded, self.runtime, delivery,
                             payment_intent_id=str(obj["payment_intent"]),
                             fully=bool(obj.get("refunded")))
        if kind == "customer.subscription.deleted" and obj.get("id"):
            return await run(payments.subscription_cancelled, self.runtime, delivery,
                             subscription_id=str(obj["id"]))
        return await run(acknowledge, self.runtime, delivery)

    async def _checkout(self, obj: dict[str, Any]) -> payments.Checkout:
        details = obj.get("customer_details") or {}
        metadata = obj.get("metadata") or {}
        return payments.Checkout(
            session_id=str(obj.get("id", ""))[:255],
            price_ids=await self._prices(obj),
            email=details.get("email") or obj.get("customer_email"),
            name=details.get("name"),
            # The site may pass the buyer's zone (from their browser) as metadata.
            zone=metadata.get("timezone"),
            payment_intent_id=_id(obj.get("payment_intent")),
            subscription_id=_id(obj.get("subscription")),
            client_reference=obj.get("client_reference_id"))

    async def _prices(self, obj: dict[str, Any]) -> tuple[str, ...]:
        items = (obj.get("line_items") or {}).get("data")
        if items is None and self.client is not None:
            try:
                listed = await asyncio.to_thread(
                    self.client.v1.checkout.sessions.line_items.list, str(obj.get("id")),
                    {"limit": 20})
                items = listed.to_dict().get("data", [])
            except stripe.StripeError as exc:
                # A 5xx to Stripe: it retries the event later, when the API may answer.
                log.error("cannot read the checkout's line items: %s", type(exc).__name__)
                raise web.HTTPServiceUnavailable() from None
        return tuple(str(_id(item.get("price"))) for item in items or () if item.get("price"))


def _id(value: Any) -> str | None:
    """A Stripe reference, given as an id or as an expanded object."""
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value else None
