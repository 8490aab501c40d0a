"""Signatures of the protocols the built-in connectors speak (see PROTOCOLS.md), in one place.

Pure functions over bytes and strings, each checked against the published test vectors
(``tests/connectors/test_signing.py``). Verification compares in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

__all__ = [
    "TOLERANCE_SECONDS",
    "dingtalk_sign",
    "feishu_sign",
    "hmac_sha256_hex",
    "qimen_sign",
    "standard_webhooks_sign",
    "standard_webhooks_verify",
]

TOLERANCE_SECONDS = 300  # inbound timestamps further than this from now are refused


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk custom robot: base64(HMAC-SHA256(key=secret, msg=f"{ts_ms}\\n{secret}")).
    URL-encode it when putting it in the query string."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu/Lark custom bot: base64(HMAC-SHA256(key=f"{ts_s}\\n{secret}", msg=b"")). Not the
    DingTalk formula, although several libraries use that."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def qimen_sign(secret: str, params: Mapping[str, str], body: bytes) -> str:
    """Qimen: UPPER(HEX(MD5(secret + k1v1k2v2… (every query parameter but ``sign``, sorted by
    key) + body + secret)))."""
    joined = "".join(f"{k}{params[k]}" for k in sorted(params) if k != "sign")
    md5 = hashlib.md5(usedforsecurity=False)
    md5.update(secret.encode() + joined.encode() + body + secret.encode())
    return md5.hexdigest().upper()


def hmac_sha256_hex(secret: str | bytes, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of the body>``, as GitHub-style webhooks sign."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def _webhook_key(secret: str) -> bytes:
    """Standard Webhooks secrets are ``whsec_`` + base64 of the key."""
    return base64.b64decode(secret.removeprefix("whsec_"))


def standard_webhooks_sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks: ``v1,`` + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}"))."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_webhook_key(secret), signed, hashlib.sha256).digest()).decode()


def standard_webhooks_verify(
    secret: str, msg_id: str, timestamp: str, signatures: str, body: bytes, now: float
) -> bool:
    """True when the timestamp is within ``TOLERANCE_SECONDS`` of ``now`` and one of the
    space-separated ``v1,<sig>`` signatures matches (constant-time)."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(now - ts) > TOLERANCE_SECONDS:
        return False
    expected = standard_webhooks_sign(secret, msg_id, ts, body).encode()
    return any(hmac.compare_digest(expected, given.encode()) for given in signatures.split() if given)
