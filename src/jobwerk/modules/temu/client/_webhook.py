"""TEMU's webhook message format: the encrypted ``eventData`` and the ``x-tm-signature`` header.

TEMU's webhook guide: the body is ``{"eventData": <base64 of AES/CBC/PKCS5 over the event's
JSON>}``, key and IV the first 16 bytes of the app secret; the signature is HMAC-SHA256 with the
app secret, hex, over the parameters ``eventData`` (decrypted), ``x-tm-app-key``,
``x-tm-event-code``, ``x-tm-ext-param`` and ``x-tm-timestamp`` sorted by name. The guide's worked
example concatenates each name and value without separators (lower-case hex); its Java code
joins ``name=value`` pairs with ``&``, skips blank values and prints upper-case hex. Both
forms are accepted, in either case: each needs the app secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = [
    "SIGNED_HEADERS",
    "WebhookDecryptError",
    "decrypt_event_data",
    "encrypt_event_data",
    "sign_webhook",
    "webhook_signature_matches",
]

SIGNED_HEADERS = ("x-tm-app-key", "x-tm-event-code", "x-tm-ext-param", "x-tm-timestamp")
EVENT_DATA = "eventData"
_KEY_BYTES = 16


class WebhookDecryptError(ValueError):
    """``eventData`` is not base64 of blocks the app secret decrypts; ``malformed`` when no
    secret could (not base64, no whole blocks)."""

    def __init__(self, message: str, *, malformed: bool = False) -> None:
        super().__init__(message)
        self.malformed = malformed


def _cipher(app_secret: str) -> Cipher[modes.CBC]:
    key = app_secret.encode()[:_KEY_BYTES]
    if len(key) < _KEY_BYTES:
        raise WebhookDecryptError("the app secret is shorter than 16 bytes")
    return Cipher(algorithms.AES(key), modes.CBC(key))


def encrypt_event_data(event: str, app_secret: str) -> str:
    """``eventData`` as TEMU sends it for the event's JSON text."""
    padder = padding.PKCS7(128).padder()
    plain = padder.update(event.encode()) + padder.finalize()
    encryptor = _cipher(app_secret).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def decrypt_event_data(event_data: str, app_secret: str) -> str:
    """The event's JSON text.

    Raises:
        WebhookDecryptError: not base64, not whole blocks, bad padding or not UTF-8.
    """
    try:
        sealed = base64.b64decode(event_data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WebhookDecryptError("eventData is not base64", malformed=True) from exc
    if not sealed or len(sealed) % _KEY_BYTES:
        raise WebhookDecryptError("eventData is no whole number of AES blocks", malformed=True)
    decryptor = _cipher(app_secret).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(decryptor.update(sealed) + decryptor.finalize())
        return (plain + unpadder.finalize()).decode()
    except ValueError as exc:  # bad padding, or bytes that are no UTF-8
        raise WebhookDecryptError("eventData does not decrypt with the app secret") from exc


def _signed(headers: Mapping[str, str], event: str) -> list[tuple[str, str]]:
    values = {name: headers.get(name, "") for name in SIGNED_HEADERS}
    values[EVENT_DATA] = event
    return sorted(values.items())


def sign_webhook(headers: Mapping[str, str], event: str, app_secret: str) -> str:
    """``x-tm-signature`` of a webhook (the worked example's form: names and values joined
    without separators, lower-case hex)."""
    text = "".join(name + value for name, value in _signed(headers, event))
    return hmac.new(app_secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def webhook_signature_matches(
    signature: str, headers: Mapping[str, str], event: str, app_secret: str
) -> bool:
    """Whether ``signature`` signs the headers and the decrypted event with the app secret, in
    either form TEMU's guide shows (see the module's docstring)."""
    pairs = _signed(headers, event)
    joined = "&".join(f"{name}={value}" for name, value in pairs if value.strip())
    texts = ("".join(name + value for name, value in pairs), joined)
    given = signature.strip().lower().encode()
    return any(
        hmac.compare_digest(
            hmac.new(app_secret.encode(), text.encode(), hashlib.sha256).hexdigest().encode(),
            given,
        )
        for text in texts
    )
