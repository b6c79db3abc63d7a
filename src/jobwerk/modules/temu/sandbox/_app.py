"""The sandbox's ASGI app: TEMU's router paths plus a ``/_sandbox`` control API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._config import SandboxConfig
from ._faults import Fault
from ._sandbox import TemuSandbox

__all__ = ["create_sandbox_app"]

_REGIONS = ("eu", "us", "global")


def _sandbox(request: Request) -> TemuSandbox:
    sandbox: TemuSandbox = request.app.state.sandbox
    return sandbox


def _peek_type(raw: bytes) -> str:
    try:
        body = json.loads(raw)
    except ValueError:
        return "*"
    return str(body.get("type", "*")) if isinstance(body, dict) else "*"


async def _router(request: Request) -> Response:
    sandbox = _sandbox(request)
    region = request.path_params.get("region")
    if region is not None and region not in _REGIONS:
        return JSONResponse({"detail": "unknown region"}, status_code=404)
    raw = await request.body()
    fault = sandbox.draw_fault(_peek_type(raw))
    if fault is not None and fault.latency > 0:
        await asyncio.sleep(fault.latency)
    answer = sandbox.handle(raw, region, fault)
    return Response(answer.body, status_code=answer.status, media_type=answer.media_type)


async def _health(request: Request) -> Response:
    sandbox = _sandbox(request)
    state = sandbox.state
    body = {"ok": True, "now": sandbox.now(), "orders": len(state.orders), "skus": len(state.skus),
            "requests": dict(sandbox.requests_by_type)}  # fmt: skip
    return JSONResponse(body)


async def _stock_log(request: Request) -> Response:
    try:
        since = max(0, int(request.query_params.get("since", "0")))
    except ValueError:
        return JSONResponse({"detail": "since must be a number"}, status_code=422)
    position, changes = _sandbox(request).stock_log(since)
    return JSONResponse({"next": position, "changes": changes})


async def _get_order(request: Request) -> Response:
    snapshot = _sandbox(request).order_snapshot(request.path_params["sn"])
    if snapshot is None:
        return JSONResponse({"detail": "order not found"}, status_code=404)
    return JSONResponse(snapshot)


async def _add_order(request: Request) -> Response:
    body: dict[str, Any] = await request.json() if await request.body() else {}
    sandbox = _sandbox(request)
    try:
        order = sandbox.add_order(status=int(body.get("status", 2)), sku_ids=body.get("skuIds"))
    except (KeyError, ValueError, TypeError) as exc:
        return JSONResponse({"detail": f"invalid order: {exc}"}, status_code=422)
    return JSONResponse(sandbox.order_snapshot(order.parent_order_sn), status_code=201)


async def _change_order(request: Request, change: Callable[[str], None]) -> Response:
    """Apply ``change`` to the order of the path: 404 unknown, 409 not in a state for it."""
    sn = request.path_params["sn"]
    try:
        change(sn)
    except KeyError:
        return JSONResponse({"detail": "order not found"}, status_code=404)
    except ValueError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=409)
    return JSONResponse(_sandbox(request).order_snapshot(sn))


async def _cancel_order(request: Request) -> Response:
    return await _change_order(request, _sandbox(request).cancel_order)


async def _cancel_units(request: Request) -> Response:
    try:
        units = int((await _body(request)).get("units", 1))
    except (TypeError, ValueError) as exc:
        return JSONResponse({"detail": str(exc)}, status_code=422)
    line = request.path_params["line"]
    sandbox = _sandbox(request)
    return await _change_order(request, lambda sn: sandbox.cancel_units(sn, line, units))


async def _get_sku(request: Request) -> Response:
    try:
        snapshot = _sandbox(request).sku_snapshot(int(request.path_params["sku_id"]))
    except ValueError:
        snapshot = None
    if snapshot is None:
        return JSONResponse({"detail": "sku not found"}, status_code=404)
    return JSONResponse(snapshot)


async def _body(request: Request) -> dict[str, Any]:
    body = await request.json() if await request.body() else {}
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    return body


async def _refusals(request: Request) -> Response:
    sn = request.path_params["sn"]
    sandbox = _sandbox(request)
    try:
        body = await _body(request)
        sandbox.refuse_order(
            sn, str(body["api_type"]), int(body["code"]), str(body.get("message", "")),
            armed=bool(body.get("armed", True)),
        )  # fmt: skip
    except KeyError as exc:
        status = 404 if exc.args == (sn,) else 422
        return JSONResponse({"detail": f"order not found or missing field {exc}"}, status)
    except (TypeError, ValueError) as exc:
        return JSONResponse({"detail": str(exc)}, status_code=422)
    return JSONResponse(
        {"order": sn, "api_type": body["api_type"], "armed": body.get("armed", True)}
    )


async def _address(request: Request) -> Response:
    try:
        fields = {key: str(value) for key, value in (await _body(request)).items()}
    except ValueError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=422)
    return await _change_order(request, lambda sn: _sandbox(request).change_address(sn, **fields))


async def _scopes(request: Request) -> Response:
    sandbox = _sandbox(request)
    if request.method == "POST":
        try:
            body = await _body(request)
            sandbox.grant_scope(str(body["api_type"]), bool(body.get("granted", True)))
        except (KeyError, TypeError, ValueError) as exc:
            return JSONResponse({"detail": f'body must be {{"api_type", "granted"}}: {exc}'}, 422)
    scopes = sandbox.state.tokens[sandbox.config.access_token].scopes
    return JSONResponse({"scopes": sorted(scopes)})


async def _stock_history(request: Request) -> Response:
    try:
        sku_id = int(request.path_params["sku_id"])
    except ValueError:
        return JSONResponse({"detail": "sku not found"}, status_code=404)
    if _sandbox(request).sku_snapshot(sku_id) is None:
        return JSONResponse({"detail": "sku not found"}, status_code=404)
    return JSONResponse({"skuId": sku_id, "history": _sandbox(request).stock_history(sku_id)})


async def _faults(request: Request) -> Response:
    sandbox = _sandbox(request)
    if request.method == "DELETE":
        sandbox.clear_faults()
    elif request.method == "POST":
        body = await request.json()
        try:
            fault = Fault(**body)
        except (TypeError, ValueError) as exc:
            return JSONResponse({"detail": str(exc)}, status_code=422)
        sandbox.inject_fault(fault.kind, fault.api_type, count=fault.count,
                             probability=fault.probability, latency=fault.latency)  # fmt: skip
    return JSONResponse({"faults": [f.to_dict() for f in sandbox.faults.list()]})


async def _webhooks(request: Request) -> Response:
    sandbox = _sandbox(request)
    if request.method == "POST":
        try:
            url = (await _body(request)).get("url")
            if url is not None and not (isinstance(url, str) and url.startswith("http")):
                raise ValueError("url must be an http(s) URL or null")
        except ValueError as exc:
            return JSONResponse({"detail": f'body must be {{"url": ...}}: {exc}'}, 422)
        sandbox.set_webhook_url(url)
    sender = sandbox.webhooks
    return JSONResponse({"url": sender.url, "deliveries": sender.deliveries[-100:]})


async def _advance(request: Request) -> Response:
    body = await request.json()
    try:
        now = _sandbox(request).advance(int(body["seconds"]))
    except (KeyError, TypeError, ValueError):
        return JSONResponse({"detail": 'body must be {"seconds": <int>}'}, status_code=422)
    return JSONResponse({"now": now})


def create_sandbox_app(
    sandbox: TemuSandbox | None = None, config: SandboxConfig | None = None, **overrides: Any
) -> Starlette:
    """Build the sandbox ASGI app.

    TEMU's router answers on ``POST /openapi/router`` (the shop's region) and on
    ``POST /{eu|us|global}/openapi/router``; ``/_sandbox/…`` reads and changes state:
    ``GET /_sandbox/health``, ``GET|POST /_sandbox/orders[/{sn}]``,
    ``POST /_sandbox/orders/{sn}/cancel``, ``POST /_sandbox/orders/{sn}/address`` (fields of
    the buyer's address), ``POST /_sandbox/orders/{sn}/refusals`` (``{"api_type", "code",
    "message", "armed"}``: a business error for one order and API), ``GET /_sandbox/skus/{sku_id}``
    and ``…/history`` (every stock change with its cause), ``GET|POST /_sandbox/scopes``
    (``{"api_type", "granted"}``), ``GET|POST|DELETE /_sandbox/faults``,
    ``POST /_sandbox/advance``, ``GET|POST /_sandbox/webhooks`` (``{"url"}``: where TEMU's
    order events are pushed, signed with the app secret; the latest deliveries),
    ``GET /_sandbox/stock-log?since=N`` (every stock change in order, with its wall time).

    Args:
        sandbox: an existing sandbox to serve; else one is built from ``config``/``overrides``.
        config: sandbox configuration (seed, sizes, credentials, limits).
        overrides: single :class:`SandboxConfig` fields, e.g. ``seed=7, orders=10_000``.

    Returns:
        A Starlette app; the sandbox is at ``app.state.sandbox``.
    """
    routes = [
        Route("/openapi/router", _router, methods=["POST"]),
        Route("/{region}/openapi/router", _router, methods=["POST"]),
        Route("/_sandbox/health", _health, methods=["GET"]),
        Route("/_sandbox/orders", _add_order, methods=["POST"]),
        Route("/_sandbox/orders/{sn}", _get_order, methods=["GET"]),
        Route("/_sandbox/orders/{sn}/cancel", _cancel_order, methods=["POST"]),
        Route("/_sandbox/orders/{sn}/address", _address, methods=["POST"]),
        Route("/_sandbox/orders/{sn}/lines/{line}/cancel", _cancel_units, methods=["POST"]),
        Route("/_sandbox/orders/{sn}/refusals", _refusals, methods=["POST"]),
        Route("/_sandbox/skus/{sku_id}", _get_sku, methods=["GET"]),
        Route("/_sandbox/skus/{sku_id}/history", _stock_history, methods=["GET"]),
        Route("/_sandbox/scopes", _scopes, methods=["GET", "POST"]),
        Route("/_sandbox/faults", _faults, methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/advance", _advance, methods=["POST"]),
        Route("/_sandbox/webhooks", _webhooks, methods=["GET", "POST"]),
        Route("/_sandbox/stock-log", _stock_log, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.state.sandbox = sandbox or TemuSandbox(config, **overrides)
    return app
