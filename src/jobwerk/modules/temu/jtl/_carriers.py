"""JTL shipping method → TEMU logistics company id, per TEMU region — explicit, never guessed.

Rules in order: configured override for the region, global override, exact provider name, then
a known carrier brand named in the JTL method that matches exactly one provider of the region.
Anything else (no candidate, several candidates) raises `UnmappedCarrier` for the operator.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jobwerk.errors import AppError

KNOWN_BRANDS = (
    "deutsche post", "dhl", "dpd", "gls", "hermes", "ups", "fedex", "usps", "tnt", "go!",
    "colissimo", "chronopost", "poste italiane", "brt", "sda", "inpost", "postnl", "bpost",
    "correos", "seur", "österreichische post", "post.at", "royal mail", "evri", "an post",
)  # fmt: skip
"""Carrier brands recognised inside a JTL shipping method name (`DHL Paket` → `dhl`)."""


@dataclass(frozen=True, slots=True)
class TemuCarrier:
    """One entry of `bg.logistics.companies.get`."""

    carrier_id: int
    name: str
    brand: str


@dataclass(frozen=True, slots=True)
class CarrierMatch:
    """A resolved carrier and the rule that resolved it."""

    carrier_id: int
    carrier_name: str
    rule: str


class UnmappedCarrier(AppError):
    """No single TEMU carrier fits a JTL shipping method; configure an override."""

    status = 422

    def __init__(
        self, jtl_name: str, region_id: int, reason: str, candidates: Sequence[TemuCarrier] = ()
    ) -> None:
        names = ", ".join(f"{c.name} ({c.carrier_id})" for c in candidates)
        suffix = f"; candidates: {names}" if names else ""
        super().__init__(f"carrier {jtl_name!r} in region {region_id}: {reason}{suffix}")
        self.jtl_name = jtl_name
        self.region_id = region_id
        self.reason = reason
        self.candidates = tuple(candidates)


def parse_logistics_companies(payload: Mapping[str, Any] | Sequence[Any]) -> list[TemuCarrier]:
    """Carriers from a `bg.logistics.companies.get` response (its `result` is an array)."""
    entries = payload.get("result", []) if isinstance(payload, Mapping) else payload
    return [
        TemuCarrier(
            int(e["logisticsServiceProviderId"]),
            str(e.get("logisticsServiceProviderName") or ""),
            str(e.get("logisticsBrandName") or ""),
        )
        for e in entries
    ]


def _norm(name: str) -> str:
    return " ".join(name.casefold().split())


def _brands(name: str) -> list[str]:
    text = _norm(name)
    return [b for b in KNOWN_BRANDS if re.search(rf"(?<!\w){re.escape(b)}(?!\w)", text)]


class CarrierMapper:
    """Resolves JTL shipping method names to TEMU carrier ids.

    Args:
        carriers_by_region: `regionId` → carriers of `bg.logistics.companies.get` for it.
        overrides: JTL method name → TEMU carrier id, for every region.
        region_overrides: `regionId` → (JTL method name → TEMU carrier id).
    """

    def __init__(
        self,
        carriers_by_region: Mapping[int, Iterable[TemuCarrier]],
        *,
        overrides: Mapping[str, int] | None = None,
        region_overrides: Mapping[int, Mapping[str, int]] | None = None,
    ) -> None:
        self._carriers = {region: list(c) for region, c in carriers_by_region.items()}
        self._overrides = {_norm(k): v for k, v in (overrides or {}).items()}
        self._region_overrides = {
            region: {_norm(k): v for k, v in names.items()}
            for region, names in (region_overrides or {}).items()
        }

    def resolve(self, jtl_name: str, region_id: int) -> CarrierMatch:
        """The TEMU carrier for a JTL shipping method in a region.

        Raises:
            UnmappedCarrier: no carrier list for the region, no match, or several matches.
        """
        carriers = self._carriers.get(region_id)
        if carriers is None:
            raise UnmappedCarrier(jtl_name, region_id, "no TEMU carrier list for this region")
        key = _norm(jtl_name)
        by_id = {c.carrier_id: c for c in carriers}
        for rule, table in (
            ("region override", self._region_overrides.get(region_id, {})),
            ("override", self._overrides),
        ):
            if key in table:
                carrier = by_id.get(table[key])
                if carrier is None:
                    raise UnmappedCarrier(
                        jtl_name, region_id, f"{rule} id {table[key]} is not offered in the region"
                    )
                return CarrierMatch(carrier.carrier_id, carrier.name, rule)
        exact = [c for c in carriers if _norm(c.name) == key]
        if len(exact) == 1:
            return CarrierMatch(exact[0].carrier_id, exact[0].name, "name")
        brands = _brands(jtl_name)
        candidates = [
            c for c in carriers if any(b in _brands(f"{c.brand} {c.name}") for b in brands)
        ]
        if len(candidates) == 1:
            return CarrierMatch(candidates[0].carrier_id, candidates[0].name, "brand")
        reason = "several TEMU carriers match" if candidates else "no TEMU carrier matches"
        raise UnmappedCarrier(jtl_name, region_id, reason, candidates)
