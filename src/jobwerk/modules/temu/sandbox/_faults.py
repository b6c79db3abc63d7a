"""Fault injection: latency, system/rate-limit errors, 502 pages, broken bodies, lost replies."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["FAULT_KINDS", "Fault", "FaultPlan"]

FAULT_KINDS = frozenset(
    {"latency", "system_error", "rate_limit", "http_502", "malformed", "response_lost"}
)


@dataclass(slots=True)
class Fault:
    """One armed fault: for ``api_type`` (``*`` = every API), the next ``count`` calls or,
    with ``probability``, each call with that chance. ``latency`` seconds are added first."""

    kind: str
    api_type: str = "*"
    count: int | None = 1
    probability: float | None = None
    latency: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {sorted(FAULT_KINDS)}")
        if self.count is None and self.probability is None:
            raise ValueError("a fault needs a count or a probability")

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the control API."""
        return asdict(self)


class FaultPlan:
    """The armed faults; draws are deterministic for a given seed and call order."""

    def __init__(self, seed: int) -> None:
        self._faults: list[Fault] = []
        self._rng = random.Random(seed ^ 0x5EED)

    def add(self, fault: Fault) -> None:
        """Arm a fault."""
        self._faults.append(fault)

    def clear(self) -> None:
        """Disarm every fault."""
        self._faults.clear()

    def list(self) -> list[Fault]:
        """The armed faults."""
        return list(self._faults)

    def draw(self, api_type: str) -> Fault | None:
        """The fault that hits this call, if any (consumes one count)."""
        for fault in self._faults:
            if fault.api_type not in ("*", api_type):
                continue
            if fault.count is not None:
                if fault.count <= 0:
                    continue
                if fault.probability is None or self._rng.random() < fault.probability:
                    fault.count -= 1
                    return fault
            elif fault.probability is not None and self._rng.random() < fault.probability:
                return fault
        self._faults = [f for f in self._faults if f.count is None or f.count > 0]
        return None
