"""Retries, typed errors and fallbacks against faults the sandbox injects over real HTTP."""

from __future__ import annotations

import time

import pytest

from jobwerk.modules.temu.client import (
    ExchangeRecord,
    MalformedResponseError,
    OrderSendInfo,
    PermissionDeniedError,
    RateLimitError,
    ShipmentPackage,
    SignatureError,
    TemuClient,
    TemuSystemError,
    TokenBucket,
    TokenExpiredError,
    bucket_for_app_key,
)
from jobwerk.modules.temu.sandbox import SandboxServer, TemuSandbox
from tests.support.temu import ClientFactory

ORDER_LIST = "bg.order.list.v2.get"


@pytest.mark.parametrize("kind", ["rate_limit", "system_error", "http_502", "malformed"])
async def test_retryable_faults_are_retried_until_success(
    temu_client: TemuClient, sandbox: TemuSandbox, exchanges: list[ExchangeRecord], kind: str
) -> None:
    sandbox.inject_fault(kind, ORDER_LIST, count=2)
    page = await temu_client.list_orders(page_size=5)
    assert page.total_item_num == 60
    assert [r.attempt for r in exchanges] == [0, 1, 2]
    assert exchanges[0].error is not None
    assert exchanges[-1].error is None


async def test_malformed_body_raises_typed_error_when_retries_run_out(
    sandbox: TemuSandbox, client_factory: ClientFactory
) -> None:
    sandbox.inject_fault("malformed", ORDER_LIST, count=5)
    async with client_factory(max_retries=1) as temu:
        with pytest.raises(MalformedResponseError):
            await temu.list_orders()


async def test_bad_signature_is_not_retried(
    client_factory: ClientFactory, exchanges: list[ExchangeRecord]
) -> None:
    async with client_factory(app_secret="wrong", on_exchange=exchanges.append) as temu:
        with pytest.raises(SignatureError) as caught:
            await temu.list_orders()
    assert caught.value.error_code == 3_000_001
    assert len(exchanges) == 1


async def test_stale_clock_and_expired_token_are_auth_errors(
    sandbox: TemuSandbox, client_factory: ClientFactory
) -> None:
    async with client_factory(clock=lambda: time.time() - 3_600) as temu:
        with pytest.raises(Exception) as stale:
            await temu.get_token_info()
    assert getattr(stale.value, "error_code", None) == 3_000_012
    sandbox.add_token("old-token", expired=True)
    async with client_factory(access_token="old-token") as temu:
        with pytest.raises(TokenExpiredError):
            await temu.get_token_info()


async def test_amount_without_permission_falls_back(
    temu_client: TemuClient, sandbox: TemuSandbox, exchanges: list[ExchangeRecord]
) -> None:
    sn = next(iter(sandbox.state.orders))
    with pytest.raises(PermissionDeniedError) as caught:
        await temu_client.get_order_amount(sn)
    assert caught.value.error_code == 3_000_032
    assert await temu_client.get_order_amount_or_none(sn) is None
    assert len(exchanges) == 2


async def test_lost_shipment_response_is_not_retried_but_applied(
    temu_client: TemuClient, sandbox: TemuSandbox, exchanges: list[ExchangeRecord]
) -> None:
    order = next(o for o in sandbox.state.orders.values() if o.status == 2)
    infos = [OrderSendInfo(order.parent_order_sn, ln.order_sn, ln.quantity) for ln in order.lines]
    package = ShipmentPackage(
        141252268, "00340434555555555555", sandbox.state.warehouses[0].warehouse_id, infos
    )
    sandbox.inject_fault("response_lost", "bg.logistics.shipment.v2.confirm")
    with pytest.raises(TemuSystemError):
        await temu_client.confirm_shipment([package])
    assert len(exchanges) == 1
    shipments = await temu_client.get_shipments(order.parent_order_sn, order.lines[0].order_sn)
    assert shipments[0].tracking_number == "00340434555555555555"


async def test_latency_beyond_timeout_is_retried(
    sandbox: TemuSandbox, client_factory: ClientFactory
) -> None:
    sandbox.inject_fault("latency", ORDER_LIST, latency=0.5)
    async with client_factory(timeout=0.2) as temu:
        page = await temu.list_orders(page_size=1)
    assert page.total_item_num == 60


async def test_sandbox_enforces_its_rate_limit() -> None:
    sandbox = TemuSandbox(seed=3, orders=5, skus=20, rate_limit=5)
    with SandboxServer(sandbox) as server:
        async with TemuClient(
            base_url=server.router_url(), app_key="sandbox-app-key",
            app_secret="sandbox-app-secret", access_token="sandbox-access-token",
            rate_limit=None, max_retries=0,
        ) as temu:  # fmt: skip
            with pytest.raises(RateLimitError) as caught:
                for _ in range(20):
                    await temu.get_token_info()
    assert caught.value.error_code == 4_000_004


def test_token_bucket_reserves_at_the_configured_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(20, clock=lambda: now[0])
    waits = [bucket.reserve() for _ in range(22)]
    assert waits[:20] == [0.0] * 20
    assert waits[20:] == pytest.approx([0.05, 0.10])
    now[0] = 10.0
    assert bucket.try_acquire()


async def test_client_limiter_is_shared_per_app_key() -> None:
    first = TemuClient(app_key="shared-key", app_secret="s", access_token="a", rate_limit=7)
    second = TemuClient(app_key="shared-key", app_secret="s", access_token="b", rate_limit=7)
    try:
        assert first._bucket is second._bucket is bucket_for_app_key("shared-key", 7)
        assert first._bucket is not None and first._bucket.rate == 7
    finally:
        await first.aclose()
        await second.aclose()
