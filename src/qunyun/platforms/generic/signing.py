"""Signing of qunyun's generic HTTP events.

A sender computes ``HMAC-SHA256(secret, f"{timestamp}.{body}")`` over the raw body bytes and sends
``X-Qunyun-Timestamp: <unix seconds>`` and ``X-Qunyun-Signature: sha256=<hex>``. Signing the
timestamp with the body means a captured request cannot be replayed later with a fresh
timestamp; requests older (or newer) than the window are refused.
"""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP_HEADER = "X-Qunyun-Timestamp"
SIGNATURE_HEADER = "X-Qunyun-Signature"


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str | None, body: bytes, signature: str | None, *, now: float,
           window: float) -> str | None:
    """None when the request is authentic and fresh, else why it is not (for the log)."""
    if not timestamp or not signature:
        return "missing timestamp or signature header"
    try:
        moment = int(timestamp)
    except ValueError:
        return "the timestamp is not unix seconds"
    if abs(now - moment) > window:
        return f"the timestamp is {now - moment:+.0f} s from now (window {window:.0f} s)"
    if not hmac.compare_digest(signature.strip().lower().encode(), sign(secret, moment, body).encode()):
        return "wrong signature"
    return None
