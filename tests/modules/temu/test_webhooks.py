"""TEMU webhooks: signed like TEMU's guide, refused unsigned or badly signed, never a 500; an
order event starts a sync of just that order (unless the order sync is paused); the sandbox
pushes its order changes to a configured URL."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from jobwerk.core.states import SUCCEEDED
from jobwerk.modules.temu import job_ids
from jobwerk.modules.temu.client import (
    WebhookDecryptError,
    decrypt_event_data,
    encrypt_event_data,
    sign_webhook,
    webhook_signature_matches,
)
from jobwerk.modules.temu.models import TemuOrder, TemuOrderEvent
from jobwerk.modules.temu.sandbox._webhooks import WebhookSender
from jobwerk.storage.models import Instance, Run
from tests.support.api import ADMIN, runtime_of, serving, wait_for_run
from tests.support.temu import APP_KEY, APP_SECRET, Shop, jtl_queued, sync_orders

URL = "/api/temu/webhook"
STATUS_CHANGED = "bg_order_status_change_event"
ADDRESS_CHANGED = "bg_trade_logistics_address_changed"
# TEMU's webhook guide: secret, headers, decrypted event, eventData and signature of its example.
DOC_SECRET = "12345678abcdefgh"
DOC_HEADERS = {"x-tm-app-key": "demo-test-app", "x-tm-event-code": "bg_test_event",
               "x-tm-ext-param": "{}", "x-tm-timestamp": "1726127013525"}  # fmt: skip
DOC_EVENT = '{"orderSn":"XXYYZZ","status":1}'
DOC_EVENT_DATA = "sQmNTAKR2o4HrmCO3OchFgGyJU5Qta57+JQxxgVyVPU="
DOC_SIGNATURE = "b5143d1a831453afbcf76d4621baa74a2dc07a486f26f5a956c6e50c61a338fb"


def push(event_code: str, event: dict[str, Any], secret: str = APP_SECRET) -> dict[str, Any]:
    """Headers and body of a push as TEMU sends it for the sandbox app."""
    headers, body = WebhookSender(APP_KEY, secret).request(event_code, event)
    return {"headers": headers, "content": body}


def status_changed(sn: str) -> dict[str, Any]:
    return {"parentOrderSn": sn, "orderSn": f"{sn}-1", "orderStatus": 2, "updateTime": 1}


async def webhook_runs(app: FastAPI, instance: str) -> list[Run]:
    async with runtime_of(app).db.read() as session:
        return list(
            await session.scalars(
                select(Run).where(Run.instance_id == instance, Run.trigger == "webhook")
            )
        )


def test_signing_and_encryption_reproduce_temus_documented_example() -> None:
    assert sign_webhook(DOC_HEADERS, DOC_EVENT, DOC_SECRET) == DOC_SIGNATURE
    assert decrypt_event_data(DOC_EVENT_DATA, DOC_SECRET) == DOC_EVENT
    assert encrypt_event_data(DOC_EVENT, DOC_SECRET) == DOC_EVENT_DATA
    assert webhook_signature_matches(DOC_SIGNATURE.upper(), DOC_HEADERS, DOC_EVENT, DOC_SECRET)
    assert not webhook_signature_matches(DOC_SIGNATURE, DOC_HEADERS, DOC_EVENT, "x" * 16)
    tampered = {**DOC_HEADERS, "x-tm-event-code": "bg_order_status_change_event"}
    assert not webhook_signature_matches(DOC_SIGNATURE, tampered, DOC_EVENT, DOC_SECRET)
    with pytest.raises(WebhookDecryptError):
        decrypt_event_data(DOC_EVENT_DATA, "another-secret-16")


async def test_a_signed_order_event_syncs_just_that_order_into_jtl(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    order = shop.sandbox.add_order(status=2)
    answer = await api.post(URL, **push(STATUS_CHANGED, status_changed(order.parent_order_sn)))
    assert answer.status_code == 200, answer.text
    assert answer.json()["queued"] == {instance: True}

    runs = await webhook_runs(app, instance)
    assert len(runs) == 1 and runs[0].params["order_sns"] == [order.parent_order_sn]
    run = await wait_for_run(api, runs[0].id)
    assert run["status"] in SUCCEEDED, run
    assert run["result"]["counts"]["orders_listed"] == 1  # just that order, not the shop's
    assert order.parent_order_sn in await jtl_queued(shop)
    assert await waiting_events(app) == []  # done: the sync stored the order


async def waiting_events(app: FastAPI) -> list[tuple[str, str | None]]:
    """The events not done yet: order and the run that took each."""
    async with runtime_of(app).db.read() as session:
        events = await session.scalars(select(TemuOrderEvent).order_by(TemuOrderEvent.id))
        return [(event.parent_order_sn, event.run_id) for event in events]


async def test_events_arriving_while_a_webhook_sync_waits_join_it(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    first, second = shop.to_ship()[:2]
    runtime = runtime_of(app)
    await runtime.executor.stop()  # the first sync stays queued
    for sn in (first, second, first):
        assert (await api.post(URL, **push(STATUS_CHANGED, status_changed(sn)))).status_code == 200
    runs = await webhook_runs(app, instance)
    assert len(runs) == 1
    await runtime.executor.start()
    runtime.executor.submit(runs[0].id)
    run = await wait_for_run(api, runs[0].id)
    assert run["status"] in SUCCEEDED, run
    assert run["result"]["counts"]["orders_listed"] == 2


async def test_a_paused_order_sync_keeps_the_event_for_later(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    async with runtime_of(app).db.read() as session:
        orders_job, _ = job_ids(await session.get_one(Instance, instance))
    assert (await api.post(f"/api/jobs/{orders_job}/toggle", headers=ADMIN)).status_code == 200
    sn = shop.to_ship()[0]
    answer = await api.post(URL, **push(STATUS_CHANGED, status_changed(sn)))
    assert answer.status_code == 200 and answer.json()["queued"] == {instance: False}
    assert await webhook_runs(app, instance) == []
    assert await waiting_events(app) == [(sn, None)]
    await api.post(f"/api/jobs/{orders_job}/toggle", headers=ADMIN)
    run = await sync_orders(api)  # a scheduled sync reads every change and takes the event

    assert run["status"] in SUCCEEDED
    assert await waiting_events(app) == []


async def test_an_address_change_waiting_for_a_paused_sync_is_read_by_the_next_one(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    assert (await sync_orders(api))["status"] in SUCCEEDED
    async with runtime_of(app).db.read() as session:
        orders_job, _ = job_ids(await session.get_one(Instance, instance))
    assert (await api.post(f"/api/jobs/{orders_job}/toggle", headers=ADMIN)).status_code == 200
    sn = shop.to_ship()[0]
    shop.sandbox.change_address(sn, street="Neue Gasse 7")
    answer = await api.post(URL, **push(ADDRESS_CHANGED, {"parentOrderSn": sn}))
    assert answer.status_code == 200 and answer.json()["queued"] == {instance: False}
    await api.post(f"/api/jobs/{orders_job}/toggle", headers=ADMIN)

    assert (await sync_orders(api))["status"] in SUCCEEDED  # scheduled: reads every change

    async with runtime_of(app).db.read() as session:
        order = await session.scalar(select(TemuOrder).where(TemuOrder.parent_order_sn == sn))
    assert order is not None and "Neue Gasse 7" in json.dumps(order.shipping_info)


async def test_events_of_a_webhook_sync_that_failed_wait_for_the_next_sync(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    assert (await sync_orders(api))["status"] in SUCCEEDED
    sn = shop.to_ship()[0]
    shop.sandbox.change_address(sn, street="Am Hang 3")
    shop.sandbox.inject_fault("system_error", "bg.order.list.v2.get", count=None, probability=1.0)
    answer = await api.post(URL, **push(ADDRESS_CHANGED, {"parentOrderSn": sn}))
    assert answer.json()["queued"] == {instance: True}
    (failed,) = await webhook_runs(app, instance)
    assert (await wait_for_run(api, failed.id))["status"] == "failed"
    assert await waiting_events(app) == [(sn, failed.id)]  # taken, never stored
    shop.sandbox.clear_faults()

    assert (await sync_orders(api))["status"] in SUCCEEDED

    assert await waiting_events(app) == []
    async with runtime_of(app).db.read() as session:
        order = await session.scalar(select(TemuOrder).where(TemuOrder.parent_order_sn == sn))
    assert order is not None and "Am Hang 3" in json.dumps(order.shipping_info)


async def test_other_event_types_are_acknowledged_and_ignored(
    app: FastAPI, api: httpx.AsyncClient, instance: str
) -> None:
    for code in ("bg_aftersales_status_change", "bg_test_event", "something_new"):
        answer = await api.post(URL, **push(code, {"parentOrderSn": "PO-1"}))
        assert answer.status_code == 200, answer.text
        assert answer.json()["ignored"] == "not an order event"
    assert await webhook_runs(app, instance) == []


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        (lambda h, b: ({k: v for k, v in h.items() if k != "x-tm-signature"}, b), "missing"),
        (lambda h, b: ({**h, "x-tm-signature": "0" * 64}, b), "does not match"),
        (lambda h, b: ({**h, "x-tm-event-code": "bg_cancel_order_status_change"}, b), "match"),
        (lambda h, b: ({**h, "x-tm-timestamp": "1"}, b), "does not match"),
        (lambda h, b: ({**h, "x-tm-app-key": "someone-else"}, b), "no TEMU shop uses"),
    ],
)
async def test_unsigned_or_badly_signed_pushes_are_refused(
    app: FastAPI, api: httpx.AsyncClient, instance: str, change: Any, detail: str
) -> None:
    signed = push(STATUS_CHANGED, status_changed("PO-076-1"))
    headers, body = change(signed["headers"], signed["content"])
    answer = await api.post(URL, headers=headers, content=body)
    assert answer.status_code == 401, answer.text
    assert detail in answer.text
    assert await webhook_runs(app, instance) == []


async def test_a_push_signed_with_another_secret_is_refused(
    app: FastAPI, api: httpx.AsyncClient, instance: str
) -> None:
    answer = await api.post(URL, **push(STATUS_CHANGED, status_changed("PO-1"), "x" * 18))
    assert answer.status_code == 401 and "does not match" in answer.text


def _signed_raw(event_text: str) -> dict[str, Any]:
    """A correctly signed push whose decrypted event is ``event_text`` (any text)."""
    headers = {"x-tm-app-key": APP_KEY, "x-tm-event-code": STATUS_CHANGED,
               "x-tm-timestamp": "1767225600000", "x-tm-ext-param": "{}"}  # fmt: skip
    headers["x-tm-signature"] = sign_webhook(headers, event_text, APP_SECRET)
    body = json.dumps({"eventData": encrypt_event_data(event_text, APP_SECRET)}).encode()
    return {"headers": headers, "content": body}


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[1, 2]", b'{"eventData": 5}', b'{"eventData": "***"}',
     b'{"eventData": "AAAA"}', b"\xff\xfe", b"[" * 100_000, b'{"other": "x"}'],
)  # fmt: skip
async def test_malformed_bodies_are_a_clear_400_never_a_500(
    api: httpx.AsyncClient, instance: str, body: bytes
) -> None:
    headers = push(STATUS_CHANGED, status_changed("PO-1"))["headers"]
    answer = await api.post(URL, headers=headers, content=body)
    assert answer.status_code == 400, (body[:20], answer.text)
    assert "TEMU webhook" in answer.json()["detail"]


@pytest.mark.parametrize(
    "event", ["not json", "[]", '{"mallId": 1}', '{"parentOrderSn": 7}', "{" * 50_000]
)
async def test_signed_events_without_an_order_are_a_400(
    api: httpx.AsyncClient, instance: str, event: str
) -> None:
    answer = await api.post(URL, **_signed_raw(event))
    assert answer.status_code == 400, answer.text


async def test_the_sandbox_pushes_order_changes_that_start_syncs(
    app: FastAPI, api: httpx.AsyncClient, shop: Shop, instance: str
) -> None:
    async with serving(app, host="127.0.0.1", port=0) as server:
        port = server.servers[0].sockets[0].getsockname()[1]
        shop.sandbox.set_webhook_url(f"http://127.0.0.1:{port}{URL}")
        order = shop.sandbox.add_order(status=2)
        await asyncio.to_thread(shop.sandbox.webhooks.wait)
        deliveries = shop.sandbox.webhooks.deliveries
        assert deliveries and {d["status"] for d in deliveries} == {200}, deliveries
        runs = await webhook_runs(app, instance)
        assert runs, "no sync started"
        for run in runs:
            assert (await wait_for_run(api, run.id))["status"] in SUCCEEDED
        assert order.parent_order_sn in await jtl_queued(shop)
        shop.sandbox.cancel_order(order.parent_order_sn)
        await asyncio.to_thread(shop.sandbox.webhooks.wait)
        shop.sandbox.set_webhook_url(None)
    codes = [d["event"] for d in shop.sandbox.webhooks.deliveries]
    assert "bg_cancel_order_status_change" in codes and STATUS_CHANGED in codes
