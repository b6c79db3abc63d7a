"""TEMU webhooks: check a push's signature with the shop's app secret, decrypt it, and start an
order sync of just the orders it names.

TEMU calls one URL per app for all its shops, signing each push with the app secret (see
``client/_webhook.py``), and gives up on a push that is not answered with 200 within 500 ms
(retrying later). So the work here is short: verify, record the event, queue a sync unless one
is waiting already, answer. Polling stays the source of truth: a lost push delays an order
until the next scheduled sync, never loses it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from jobwerk.core import run_service
from jobwerk.core.instances import instance_config, list_instances
from jobwerk.modules.temu.client import (
    SIGNED_HEADERS,
    WebhookDecryptError,
    decrypt_event_data,
    webhook_signature_matches,
)
from jobwerk.modules.temu.settings import TemuSettings
from jobwerk.modules.temu.workflows import sync_orders
from jobwerk.modules.temu.workflows._events import ORDER_EVENTS, record_events
from jobwerk.sdk import AppError, RunStatus, Runtime
from jobwerk.storage.models import Instance, Job, Run

SIGNATURE = "x-tm-signature"
APP_KEY, EVENT_CODE = "x-tm-app-key", "x-tm-event-code"
TRIGGER = "webhook"


class WebhookUnsigned(AppError):
    """A push without a valid TEMU signature (or for an app no shop uses)."""

    status = 401


class WebhookMalformed(AppError):
    """A signed push whose content is not what TEMU sends."""

    status = 400


@dataclass(frozen=True, slots=True)
class Shop:
    instance: Instance
    settings: TemuSettings


async def receive_webhook(
    runtime: Runtime, headers: Mapping[str, str], body: bytes
) -> dict[str, Any]:
    """Verify a TEMU push and queue a sync of the orders it names, for each shop it concerns.

    Returns:
        What became of it: the event code, the orders, and per shop whether a sync was queued.

    Raises:
        WebhookUnsigned: a signature header is missing, no shop has the app key, or the
            signature does not match (401).
        WebhookMalformed: the body is not ``{"eventData": "<base64>"}`` or the event lacks
            what its code promises (400).
    """
    missing = [name for name in (SIGNATURE, APP_KEY, EVENT_CODE) if not headers.get(name)]
    if missing:
        raise WebhookUnsigned(f"unsigned TEMU webhook: header {', '.join(missing)} missing")
    event_data = _event_data(body)
    shops = await _shops(runtime, headers[APP_KEY])
    if not shops:
        raise WebhookUnsigned(f"no TEMU shop uses the app key {headers[APP_KEY]!r}")
    event_text, signed = _verified(headers, event_data, shops)
    code = headers[EVENT_CODE]
    if code not in ORDER_EVENTS:
        return {"result": {}, "event": code, "ignored": "not an order event"}
    event = _event(event_text)
    number = event.get("parentOrderSn")
    if not isinstance(number, str) or not 0 < len(number) <= 64:
        raise WebhookMalformed(f"TEMU event {code} without a parentOrderSn")
    mall = event.get("mallId")
    concerned = [s for s in signed if s.settings.mall_id in (None, _int(mall))]
    queued = {s.instance.id: await _sync_soon(runtime, s.instance, number, code) for s in concerned}
    return {"result": {}, "event": code, "orders": [number], "queued": queued}


def _event_data(body: bytes) -> str:
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested beyond reason
        raise WebhookMalformed("a TEMU webhook's body is JSON") from None
    value = parsed.get("eventData") if isinstance(parsed, dict) else None
    if not isinstance(value, str) or not value:
        raise WebhookMalformed('a TEMU webhook\'s body is {"eventData": "<base64>"}')
    return value


async def _shops(runtime: Runtime, app_key: str) -> list[Shop]:
    async with runtime.db.read() as session:
        instances = await list_instances(session, "temu")
    shops = []
    for instance in instances:
        try:
            settings = TemuSettings.model_validate(instance_config(runtime.box, instance).settings)
        except (ValidationError, AppError):
            continue  # a shop whose settings do not load answers no webhook
        if settings.app_key == app_key:
            shops.append(Shop(instance, settings))
    return shops


def _verified(
    headers: Mapping[str, str], event_data: str, shops: list[Shop]
) -> tuple[str, list[Shop]]:
    """The decrypted event and the shops whose app secret signed it."""
    signature = headers[SIGNATURE]
    signed_headers = {name: headers.get(name, "") for name in SIGNED_HEADERS}
    text: str | None = None
    signed: list[Shop] = []
    for shop in shops:
        secret = shop.settings.app_secret.get_secret_value()
        try:
            opened = decrypt_event_data(event_data, secret)
        except WebhookDecryptError as exc:
            if exc.malformed:
                raise WebhookMalformed(f"a TEMU webhook's {exc}") from None
            continue  # another shop of the app key may hold the right secret
        if webhook_signature_matches(signature, signed_headers, opened, secret):
            text = opened
            signed.append(shop)
    if text is None:
        raise WebhookUnsigned("the TEMU webhook's signature does not match the app secret")
    return text, signed


def _event(text: str) -> dict[str, Any]:
    try:
        event = json.loads(text)
    except (ValueError, RecursionError):
        raise WebhookMalformed("the TEMU event is not JSON") from None
    if not isinstance(event, dict):
        raise WebhookMalformed("the TEMU event is not a JSON object")
    return event


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


async def _sync_soon(runtime: Runtime, instance: Instance, number: str, code: str) -> bool:
    """Record the event; queue an order sync of its order unless the shop's order sync job is
    disabled (paused: the event waits) or a webhook-started sync is still queued (it takes the
    event when it starts). Returns whether a sync was queued."""
    from jobwerk.modules.temu import job_ids

    await record_events(runtime.db, instance.id, [(number, code)])
    async with runtime.transaction() as session:
        job = await session.get(Job, job_ids(instance)[0])
        if job is None or not job.enabled or job.instance_id != instance.id:
            return False
        waiting = await session.scalar(
            select(Run.id)
            .where(
                Run.instance_id == instance.id,
                Run.workflow == sync_orders.name,
                Run.status == RunStatus.QUEUED,
                Run.trigger == TRIGGER,
            )
            .limit(1)
        )
        if waiting is not None:
            return False
        params = {**job.params, "order_sns": [number]}
        await run_service.enqueue_run(
            session,
            runtime.workflows,
            sync_orders.name,
            params,
            instance_id=instance.id,
            trigger=TRIGGER,
            started_by=f"TEMU {code}",
        )
    return True
