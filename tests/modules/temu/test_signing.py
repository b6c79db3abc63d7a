"""The TEMU signer against TEMU's published signature example and the documented rules."""

from __future__ import annotations

from typing import Any

from jobwerk.modules.temu.client import canonical_string, sign_request

# TEMU's signature guide ("Signature Method for API request"): parameters, secret and result.
DOC_SECRET = "c7e0a1a63542be4de3cb5488f9fba8149e8fc290"
DOC_PARAMS: dict[str, Any] = {
    "access_token": "2nifvmpyymvypwmcms5ct4uqqudrwgpmzbcnmkt1jzjkuaf3x56iixym",
    "app_key": "f9d5cc9313893a20d5aa85c654e8f503",
    "data_type": "JSON",
    "sendRequestList": [
        {
            "orderSendInfoList": [
                {
                    "quantity": 1,
                    "orderSn": "211-21905473070712792",
                    "parentOrderSn": "PO-211-21905452099192792",
                    "goodsId": 601099548666279,
                    "skuId": 17592352673534,
                }
            ],
            "carrierId": "699272611",
            "trackingNumber": "270324232756",
        }
    ],
    "sendType": 0,
    "timestamp": 1711009072,
    "type": "bg.logistics.shipment.confirm",
}
DOC_SIGN = "4CCF219942D4180C6DDA3CE36C1B838F"


def test_published_example_signature() -> None:
    assert sign_request(DOC_SECRET, DOC_PARAMS) == DOC_SIGN


def test_published_example_canonical_string() -> None:
    expected = (
        DOC_SECRET + "access_token2nifvmpyymvypwmcms5ct4uqqudrwgpmzbcnmkt1jzjkuaf3x56iixym"
        "app_keyf9d5cc9313893a20d5aa85c654e8f503data_typeJSON"
        'sendRequestList[{"orderSendInfoList":[{"quantity":1,"orderSn":"211-21905473070712792",'
        '"parentOrderSn":"PO-211-21905452099192792","goodsId":601099548666279,'
        '"skuId":17592352673534}],"carrierId":"699272611","trackingNumber":"270324232756"}]'
        "sendType0timestamp1711009072typebg.logistics.shipment.confirm" + DOC_SECRET
    )
    assert canonical_string(DOC_SECRET, DOC_PARAMS) == expected


def test_sign_key_is_ignored_and_top_level_order_is_irrelevant() -> None:
    shuffled = dict(reversed(list(DOC_PARAMS.items())))
    shuffled["sign"] = "ANYTHING"
    assert sign_request(DOC_SECRET, shuffled) == DOC_SIGN


def test_nested_keys_are_signed_in_send_order() -> None:
    inner = DOC_PARAMS["sendRequestList"][0]
    reordered = {**DOC_PARAMS, "sendRequestList": [dict(sorted(inner.items()))]}
    assert sign_request(DOC_SECRET, reordered) != DOC_SIGN


def test_timestamp_as_number_or_string_signs_the_same() -> None:
    as_string = {**DOC_PARAMS, "timestamp": "1711009072"}
    assert sign_request(DOC_SECRET, as_string) == DOC_SIGN


def test_values_use_json_spelling_and_raw_utf8() -> None:
    params = {"flag": True, "list": [1, "a"], "name": "Müller-Weiß", "nested": {"b": False}}
    text = canonical_string("s", params)
    assert text == "s" + 'flagtruelist[1,"a"]nameMüller-Weißnested{"b":false}' + "s"
    assert len(sign_request("s", params)) == 32
    assert sign_request("s", params).isupper()
