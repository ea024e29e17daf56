"""Connection secrets: stored encrypted with a key derived from Django's SECRET_KEY, or read
from the environment.

A stored value of the form ``env:NAME`` is not the secret but a pointer to the environment
variable ``NAME``: the secret then never touches the database. Anything else is encrypted with
Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from ``SECRET_KEY``; changing the secret
key makes stored secrets unreadable, which :func:`secrets_decrypt` reports in one line.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class SecretError(ValueError):
    """A secret that cannot be read (wrong key, missing environment variable)."""


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"qunyun.connections.secrets\x00" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def secrets_encrypt(values: dict[str, str]) -> str:
    """The encrypted form of ``values`` (a dict of names to secrets or ``env:NAME`` pointers)."""
    if not values:
        return ""
    return _fernet().encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def secrets_decrypt(token: str) -> dict[str, str]:
    """The stored dict back (pointers unresolved)."""
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise SecretError("stored secrets cannot be decrypted (was the secret key changed?); "
                          "run the 'qunyun connect' command again") from None


def secret_resolve(value: str | None, *, name: str) -> str | None:
    """The secret itself: ``env:NAME`` reads the environment, anything else is the value."""
    if value is None or value == "":
        return None
    if value.startswith("env:"):
        var = value[4:]
        resolved = os.environ.get(var)
        if not resolved:
            raise SecretError(f"{name}: environment variable {var} is not set")
        return resolved
    return value


def mask(value: str | None) -> str:
    """How a secret is shown: whether it is set and where it comes from, never its value."""
    if not value:
        return "-"
    if value.startswith("env:"):
        return f"from ${value[4:]}"
    return "stored (encrypted)"
