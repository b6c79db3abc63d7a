"""TEMU's response envelope and the business error the sandbox answers with."""

from __future__ import annotations

import json
import uuid
from typing import Any

__all__ = ["SUCCESS_CODE", "SandboxError", "envelope_error", "envelope_ok"]

SUCCESS_CODE = 1_000_000


class SandboxError(Exception):
    """A TEMU error answer: ``errorCode`` and ``errorMsg`` in an HTTP 200 envelope."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"[{code}] {message}")
        self.code = code
        self.message = message


def _request_id(region: str) -> str:
    return f"{region}-{uuid.uuid4()}"


def envelope_ok(result: Any, region: str) -> bytes:
    """A success body: ``success``, ``errorCode`` 1000000, ``errorMsg``, ``requestId``, result."""
    body = {
        "success": True,
        "errorCode": SUCCESS_CODE,
        "errorMsg": "",
        "requestId": _request_id(region),
        "result": result,
    }
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def envelope_error(code: int, message: str, region: str) -> bytes:
    """A failure body (no ``result``), sent with HTTP 200 like TEMU does."""
    body = {
        "success": False,
        "errorCode": code,
        "errorMsg": message,
        "requestId": _request_id(region),
    }
    return json.dumps(body, ensure_ascii=False).encode("utf-8")
