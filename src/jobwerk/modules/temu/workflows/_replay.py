"""Replaying a finished TEMU run: the TEMU answers it archived (``temu-<step>.jsonl``) answer the
same workflow with the same parameters again, as a dry run of the current mapping code against
the instance's JTL-Wawi or another one — a bad sync reproduced without TEMU."""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from jobwerk.core import run_service
from jobwerk.core.context import run_export_dir
from jobwerk.core.secrets import SecretBox
from jobwerk.core.workflow import WorkflowRegistry
from jobwerk.modules.temu.client import (
    SECRET_KEYS,
    SUCCESS_CODE,
    PermissionDeniedError,
    TemuError,
    error_from_code,
)
from jobwerk.sdk import AppError, Conflict, RunStatus
from jobwerk.storage.models import Instance, Run

REPLAYABLE = ("temu.sync_orders", "temu.sync_inventory")
NO_ANSWER = 9_900_001
"""The business code a replay answers with when the archive holds no answer to a request."""
ORDER_LIST = "bg.order.list.v2.get"
SKU_LIST = "bg.local.goods.sku.list.query"
_ENVELOPE = frozenset({"type", "app_key", "timestamp", "data_type", "version", *SECRET_KEYS})
# Parameters that differ between the run and its replay (clock, new keys): not matched.
_VOLATILE = frozenset(
    {
        "createAfter", "createBefore", "updateAtStart", "updateAtEnd", "parentConfirmTimeStart",
        "parentConfirmTimeEnd", "expectShipLatestTimeStart", "expectShipLatestTimeEnd",
        "requestUniqueKey",
    }
)  # fmt: skip


class NotReplayable(AppError):
    """The run cannot be replayed (not a TEMU sync, nothing archived, no instance)."""

    status = 422


@dataclass(frozen=True, slots=True)
class Exchange:
    """One archived TEMU call that TEMU answered: its business parameters and the envelope."""

    api_type: str
    params: dict[str, Any]
    answer: dict[str, Any]


def archive_names(result: dict[str, Any] | None) -> list[str]:
    """The run's TEMU archives (one per step that called TEMU), in step order."""
    exports = (result or {}).get("exports", [])
    return [
        e["name"] for e in exports if e["name"].startswith("temu-") and e["name"].endswith(".jsonl")
    ]


def read_archive(folder: Path, names: Iterable[str]) -> list[Exchange]:
    """The exchanges of the archives that TEMU answered; failed attempts TEMU answered with a
    retryable error (rate limit, system error, HTTP 5xx) are left out: their retry follows."""
    found: list[Exchange] = []
    for name in names:
        path = folder / name
        if not path.is_file():
            continue
        for line in path.read_text("utf-8").splitlines():
            record = json.loads(line)
            body = record.get("response_body")
            if record.get("status_code") != 200 or not isinstance(body, dict):
                continue
            if "success" not in body or _retried(body):
                continue
            params = {k: v for k, v in record["request_params"].items() if k not in _ENVELOPE}
            found.append(Exchange(record["api_type"], params, body))
    return found


def _retried(body: dict[str, Any]) -> bool:
    """An answer with an error the client retries (the retry's answer follows it)."""
    error = _error(body)
    return error is not None and error.retryable


def _error(body: dict[str, Any]) -> TemuError | None:
    """The error TEMU answered with, if it did."""
    code = body.get("errorCode")
    if body.get("success") is True or not isinstance(code, int) or code == SUCCESS_CODE:
        return None
    return error_from_code(code, "", request_id=None, api_type=None)


def request_key(api_type: str, params: dict[str, Any]) -> str:
    """What identifies a request across the run and its replay."""
    kept = {k: v for k, v in params.items() if k not in _VOLATILE and v is not None}
    return f"{api_type} {json.dumps(kept, sort_keys=True, default=str)}"


def order_window_start(exchanges: Sequence[Exchange]) -> int | None:
    """Where the run's order listing began (``updateAtStart``), or None when it read the creation
    window as a first sync does."""
    for exchange in exchanges:
        if exchange.api_type == ORDER_LIST:
            start = exchange.params.get("updateAtStart")
            return int(start) if start is not None else None
    return None


class ReplayTransport(httpx.MockTransport):
    """Answers each TEMU request with the archived answer to the same request (same API and
    parameters, clock values aside), in the archive's order; a request asked more often than
    archived gets the last answer again. A SKU list by ``skuIdList`` is answered from every
    archived SKU list; an API the run's token was not permitted to call is refused again. A
    request the archive has no answer to gets a business error (``NO_ANSWER``) that names the
    run, the API and the parameters."""

    def __init__(self, run_id: str, exchanges: Sequence[Exchange]) -> None:
        self.run_id = run_id
        self._waiting: dict[str, deque[dict[str, Any]]] = defaultdict(deque)
        self._given: dict[str, dict[str, Any]] = {}
        self._skus: dict[Any, dict[str, Any]] = {}
        self._denied: dict[str, dict[str, Any]] = {}
        for exchange in exchanges:
            self._waiting[request_key(exchange.api_type, exchange.params)].append(exchange.answer)
            if isinstance(_error(exchange.answer), PermissionDeniedError):
                self._denied.setdefault(exchange.api_type, exchange.answer)
            if exchange.api_type == SKU_LIST and exchange.answer.get("success") is True:
                for sku in (exchange.answer.get("result") or {}).get("skuList") or []:
                    self._skus.setdefault(sku.get("skuId"), sku)
        super().__init__(self._answer)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        api_type = str(body.get("type"))
        params = {k: v for k, v in body.items() if k not in _ENVELOPE}
        key = request_key(api_type, params)
        waiting = self._waiting.get(key)
        if waiting:
            self._given[key] = waiting.popleft()
        answer = (
            self._given.get(key)
            or self._skus_by_id(api_type, params)
            or self._denied.get(api_type)  # a permission is the token's, whatever was asked
            or self._no_answer(api_type, params)
        )
        return httpx.Response(200, json=answer)

    def _skus_by_id(self, api_type: str, params: dict[str, Any]) -> dict[str, Any] | None:
        if api_type != SKU_LIST or not params.get("skuIdList"):
            return None
        skus = [self._skus[i] for i in params["skuIdList"] if i in self._skus]
        result = {"skuList": skus, "total": len(skus), "pageNo": 1}
        return {"success": True, "errorCode": SUCCESS_CODE, "result": result}

    def _no_answer(self, api_type: str, params: dict[str, Any]) -> dict[str, Any]:
        asked = json.dumps(params, sort_keys=True, default=str)
        message = f"run {self.run_id} archived no answer to {api_type} {asked}"
        return {"success": False, "errorCode": NO_ANSWER, "errorMsg": message}


async def start_replay(
    session: AsyncSession,
    workflows: WorkflowRegistry,
    data_dir: Path,
    box: SecretBox,
    run_id: str,
    *,
    jtl_url: str | None = None,
    trigger: str,
    started_by: str | None,
    request_id: str | None = None,
) -> Run:
    """Queue a replay of a finished TEMU sync: the same workflow, parameters and instance, as a
    dry run answered from the run's archived TEMU exchanges.

    Args:
        jtl_url: a JTL-Wawi database (SQLAlchemy URL) to read instead of the instance's JTL;
            kept sealed in the replay's parameters, never shown.

    Raises:
        NotFound: no such run. Conflict: the run has not finished.
        NotReplayable: not a TEMU sync, no instance any more, or nothing archived to replay.
    """
    source = await run_service.get_run(session, run_id)
    if source.workflow not in REPLAYABLE:
        raise NotReplayable(
            f"run {source.id} is a {source.workflow} run; only TEMU order and inventory syncs "
            "can be replayed"
        )
    if not RunStatus(source.status).finished:
        raise Conflict(f"run {source.id} is {source.status}; wait until it has finished")
    if source.instance_id is None or await session.get(Instance, source.instance_id) is None:
        raise NotReplayable(f"the TEMU instance of run {source.id} no longer exists")
    folder = run_export_dir(data_dir, source.id)
    names = [n for n in archive_names(source.result) if (folder / n).is_file()]
    if not names:
        raise NotReplayable(
            f"run {source.id} archived no TEMU exchanges (temu-<step>.jsonl exports): "
            "nothing to replay"
        )
    if source.workflow == "temu.sync_inventory" and "temu-api_to_json.jsonl" not in names:
        raise NotReplayable(
            f"run {source.id} read no SKU list (a quick sync of a shop whose products were "
            "stored); a replay starts from nothing stored, so replay a full inventory sync"
        )
    params = {k: v for k, v in source.params.items() if k not in ("replay_of", "replay_jtl")}
    sealed = box.seal({"jtl_url": jtl_url}) if jtl_url else None
    params |= {"dry_run": True, "replay_of": source.id, "replay_jtl": sealed}
    return await run_service.enqueue_run(
        session,
        workflows,
        source.workflow,
        params,
        instance_id=source.instance_id,
        trigger=trigger,
        started_by=started_by,
        request_id=request_id,
    )
