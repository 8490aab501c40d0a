"""Signature schemes against published test vectors (PROTOCOLS.md, and the Standard Webhooks
reference libraries' own vector)."""

from __future__ import annotations

import pytest

from connectors.signing import (
    dingtalk_sign,
    feishu_sign,
    hmac_sha256_hex,
    qimen_sign,
    standard_webhooks_sign,
    standard_webhooks_verify,
)

SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_TS = 1614265330
SW_BODY = b'{"test": 2432232314}'
SW_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_dingtalk_vector() -> None:
    assert dingtalk_sign("SECtest", 1700000000000) == "aZLLrriXgn05YbwaGR7knYsLeJADjr9NwLaNNKpxh4g="


def test_feishu_vector_and_it_is_not_the_dingtalk_formula() -> None:
    assert feishu_sign("demo", 1599360473) == "l1N0gAcBjdwBvGm1xMjOF0XSyaLRpR7tuO5dHfhAYc8="
    assert dingtalk_sign("demo", 1599360473) != feishu_sign("demo", 1599360473)


def test_github_style_hmac_vector() -> None:
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert hmac_sha256_hex("It's a Secret to Everybody", b"Hello, World!") == expected


def test_standard_webhooks_vector() -> None:
    assert standard_webhooks_sign(SW_SECRET, SW_ID, SW_TS, SW_BODY) == SW_SIG


@pytest.mark.parametrize(
    ("timestamp", "signatures", "body", "now", "ok"),
    [
        (str(SW_TS), SW_SIG, SW_BODY, SW_TS + 10, True),
        (str(SW_TS), f"v1,bm90IGl0 {SW_SIG}", SW_BODY, SW_TS, True),  # one of several (key rotation)
        (str(SW_TS), SW_SIG, SW_BODY + b" ", SW_TS, False),  # body changed
        (str(SW_TS), SW_SIG, SW_BODY, SW_TS + 301, False),  # stale
        (str(SW_TS), SW_SIG, SW_BODY, SW_TS - 301, False),  # from the future
        ("not-a-number", SW_SIG, SW_BODY, SW_TS, False),
        (str(SW_TS), "", SW_BODY, SW_TS, False),
    ],
    ids=["valid", "one-of-several", "tampered", "stale", "future", "bad-timestamp", "no-signature"],
)
def test_standard_webhooks_verification(
    timestamp: str, signatures: str, body: bytes, now: int, ok: bool
) -> None:
    assert standard_webhooks_verify(SW_SECRET, SW_ID, timestamp, signatures, body, now) is ok


def test_qimen_sign_sorts_parameters_leaves_out_sign_and_covers_the_body() -> None:
    params = {"method": "taobao.qimen.deliveryorder.create", "app_key": "k", "timestamp": "2026-11-25 08:00:00",
              "v": "2.0", "sign_method": "md5", "format": "xml", "customerId": "c1"}  # fmt: skip
    body = b"<request><deliveryOrder/></request>"
    sign = qimen_sign("secret", params, body)
    # the formula, spelled out for these inputs
    import hashlib

    joined = "".join(f"{k}{params[k]}" for k in sorted(params))
    assert sign == hashlib.md5(b"secret" + joined.encode() + body + b"secret").hexdigest().upper()
    # the order of the parameters and a sign parameter do not matter; the body does
    assert qimen_sign("secret", dict(reversed(list(params.items()))) | {"sign": "X"}, body) == sign
    assert qimen_sign("secret", params, body + b" ") != sign
    assert len(sign) == 32 and sign == sign.upper()
