"""JTL shipping method → TEMU carrier id: overrides, exact names, brands, unmapped carriers."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from jobwerk.modules.temu.jtl import CarrierMapper, UnmappedCarrier, parse_logistics_companies

FIXTURES = Path(__file__).parents[2] / "fixtures" / "temu"


def _companies_response() -> dict[str, Any]:
    """The documented `bg.logistics.companies.get` shape with a German carrier list."""
    data = json.loads((FIXTURES / "bg.logistics.companies.get.json").read_text("utf-8"))
    response: dict[str, Any] = data["response_example"]
    template = response["result"][0]
    entries = []
    for carrier_id, name, brand in (
        (141252268, "DHL", "DHL"),
        (998264853, "DPD Germany", "DPD"),
        (998264854, "DPD Predict", "DPD"),
        (555000001, "Hermes Germany", "Hermes"),
        (314439762, "UPS", "UPS"),
    ):
        entry = copy.deepcopy(template)
        entry.update(
            logisticsServiceProviderId=carrier_id,
            logisticsServiceProviderName=name,
            logisticsBrandName=brand,
        )
        entries.append(entry)
    response["result"] = entries
    return response


@pytest.fixture
def mapper() -> CarrierMapper:
    carriers = parse_logistics_companies(_companies_response())
    return CarrierMapper(
        {76: carriers},
        overrides={"Hermes Päckchen": 555000001},
        region_overrides={76: {"DPD Classic": 998264853}},
    )


def test_documented_shape_parses() -> None:
    carriers = parse_logistics_companies(_companies_response())

    assert carriers[0].carrier_id == 141252268
    assert carriers[0].name == "DHL"


@pytest.mark.parametrize(
    ("jtl_name", "carrier_id", "rule"),
    [
        ("DPD Classic", 998264853, "region override"),
        ("hermes  päckchen", 555000001, "override"),
        ("UPS", 314439762, "name"),
        ("DHL Paket", 141252268, "brand"),
    ],
)
def test_carriers_resolve_by_rule(
    mapper: CarrierMapper, jtl_name: str, carrier_id: int, rule: str
) -> None:
    match = mapper.resolve(jtl_name, 76)

    assert (match.carrier_id, match.rule) == (carrier_id, rule)


def test_unmapped_carrier_is_reported_not_guessed(mapper: CarrierMapper) -> None:
    with pytest.raises(UnmappedCarrier, match="no TEMU carrier matches") as caught:
        mapper.resolve("Selbstabholung", 76)

    assert caught.value.jtl_name == "Selbstabholung"
    assert caught.value.region_id == 76


def test_ambiguous_brand_is_reported_with_candidates(mapper: CarrierMapper) -> None:
    with pytest.raises(UnmappedCarrier, match="several") as caught:
        mapper.resolve("DPD Express", 76)

    assert {c.carrier_id for c in caught.value.candidates} == {998264853, 998264854}


def test_region_without_carrier_list_is_reported(mapper: CarrierMapper) -> None:
    with pytest.raises(UnmappedCarrier, match="no TEMU carrier list"):
        mapper.resolve("DHL Paket", 13)


def test_override_to_a_carrier_the_region_lacks_is_reported() -> None:
    carriers = parse_logistics_companies(_companies_response())
    mapper = CarrierMapper({76: carriers}, overrides={"GLS": 1})

    with pytest.raises(UnmappedCarrier, match="not offered"):
        mapper.resolve("GLS", 76)
