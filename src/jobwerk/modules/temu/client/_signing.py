"""TEMU's MD5 request signature: sorted top-level keys, compact JSON values, secret on both ends."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["canonical_string", "sign_request"]


def _serialize_value(value: Any) -> str:
    # Compact JSON with raw UTF-8 and nested keys in send order; plain strings lose their quotes.
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, str):
        return text[1:-1]
    return text


def canonical_string(app_secret: str, params: Mapping[str, Any]) -> str:
    """Return the string TEMU hashes: ``secret + key1value1 + key2value2 … + secret``.

    Args:
        app_secret: the app secret from the TEMU developer portal.
        params: the complete request body (common and business parameters); ``sign`` is ignored.

    Returns:
        The unhashed signature string, useful for debugging signature mismatches.
    """
    parts = [app_secret]
    for key in sorted(k for k in params if k != "sign"):
        parts.append(key)
        parts.append(_serialize_value(params[key]))
    parts.append(app_secret)
    return "".join(parts)


def sign_request(app_secret: str, params: Mapping[str, Any]) -> str:
    """Compute TEMU's ``sign`` for a request body.

    Top-level keys are sorted by ASCII; nested objects are serialized in the order their keys
    appear in ``params``, so sign exactly the mapping that is sent.

    Args:
        app_secret: the app secret from the TEMU developer portal.
        params: the complete request body; a ``sign`` key, if present, is left out.

    Returns:
        32 upper-case hexadecimal characters.
    """
    digest = hashlib.md5(
        canonical_string(app_secret, params).encode("utf-8"), usedforsecurity=False
    )
    return digest.hexdigest().upper()
