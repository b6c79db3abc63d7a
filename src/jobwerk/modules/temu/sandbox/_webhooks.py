"""The sandbox's webhook pushes: TEMU's events for order changes, encrypted and signed like
TEMU's, POSTed to a configured URL by a background thread (one attempt each; TEMU would retry
after 2 minutes, polling covers that)."""

from __future__ import annotations

import json
import queue
import threading
import time
from typing import Any

import httpx

from jobwerk.modules.temu.client import encrypt_event_data, sign_webhook

__all__ = ["WebhookSender"]

TIMEOUT_SECONDS = 5.0


class WebhookSender:
    """Sends events to ``url`` in the order they happened; ``deliveries`` records each answer.

    Args:
        app_key: the app the pushes are for (``x-tm-app-key``).
        app_secret: encrypts ``eventData`` and signs each push.
    """

    def __init__(self, app_key: str, app_secret: str) -> None:
        self.app_key = app_key
        self.app_secret = app_secret
        self.url: str | None = None
        self.deliveries: list[dict[str, Any]] = []
        self._queue: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def configure(self, url: str | None) -> None:
        """Send future events to ``url`` (None: send none)."""
        with self._lock:
            self.url = url
            if url and self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="sandbox-webhooks", daemon=True
                )
                self._thread.start()

    def push(self, event_code: str, event: dict[str, Any]) -> None:
        """Queue one event (nothing happens while no URL is configured)."""
        if self.url:
            self._queue.put((event_code, event))

    def wait(self, timeout: float = 10.0) -> bool:
        """Wait until every queued event was sent; False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def request(self, event_code: str, event: dict[str, Any]) -> tuple[dict[str, str], bytes]:
        """The headers and body TEMU would send for the event."""
        text = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
        headers = {
            "x-tm-app-key": self.app_key,
            "x-tm-event-code": event_code,
            "x-tm-timestamp": str(int(time.time() * 1000)),
            "x-tm-ext-param": "{}",
        }
        headers["x-tm-signature"] = sign_webhook(headers, text, self.app_secret)
        body = json.dumps({"eventData": encrypt_event_data(text, self.app_secret)}).encode()
        return {**headers, "Content-Type": "application/json"}, body

    def _run(self) -> None:
        with httpx.Client(timeout=TIMEOUT_SECONDS) as client:
            while True:
                event_code, event = self._queue.get()
                try:
                    self._send(client, event_code, event)
                finally:
                    self._queue.task_done()

    def _send(self, client: httpx.Client, event_code: str, event: dict[str, Any]) -> None:
        url = self.url
        if not url:
            return
        headers, body = self.request(event_code, event)
        record: dict[str, Any] = {"event": event_code, "order": event.get("parentOrderSn")}
        try:
            answer = client.post(url, content=body, headers=headers)
            record["status"] = answer.status_code
        except httpx.HTTPError as exc:
            record["error"] = str(exc)
        with self._lock:
            self.deliveries.append(record)
