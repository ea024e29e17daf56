"""OneBot v11 authentication: the access token (``Authorization: Bearer`` or ``?access_token=``)
and the HTTP POST signature (``X-Signature: sha1=<HMAC-SHA1 of the body with the secret>``)."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qs


def token_from(authorization: str | None, query_string: str) -> str | None:
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() in ("bearer", "token") and value:
            return value.strip()
    values = parse_qs(query_string).get("access_token")
    return values[0] if values else None


def token_ok(expected: str | None, given: str | None) -> bool:
    """No token configured accepts anything; otherwise the same token, compared in constant time."""
    if not expected:
        return True
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def signature(secret: str, body: bytes) -> str:
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def signature_ok(secret: str | None, body: bytes, header: str | None) -> bool:
    if not secret:
        return True
    return header is not None and hmac.compare_digest(header.strip().lower().encode(), signature(secret, body).encode())
