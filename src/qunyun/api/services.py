"""Writes of the API area: making and revoking tokens."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth import get_user_model
from django.utils import timezone

from .models import ApiToken

TOKEN_PREFIX = "qy_"


class TokenError(ValueError):
    """A token request that cannot be done, with a message for the operator."""


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def token_create(*, username: str, name: str) -> tuple[ApiToken, str]:
    """Make a token for operator ``username``; returns the row and the secret (shown only now)."""
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is None or not user.is_active:
        raise TokenError(f"no active operator {username!r} (create one with: qunyun operator create)")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name[:100], prefix=raw[:10], key_hash=token_hash(raw))
    return token, raw


def token_revoke(*, prefix: str) -> int:
    """Revoke every live token starting with ``prefix``; returns how many."""
    if len(prefix) < 6:
        raise TokenError("give at least the first 6 characters of the token")
    return ApiToken.objects.filter(prefix__startswith=prefix[:10], revoked_at__isnull=True).update(
        revoked_at=timezone.now())


def token_user(raw: str):
    """The operator a token belongs to, or ``None`` (unknown, revoked, or inactive user)."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=token_hash(raw), revoked_at__isnull=True).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)  # at most once a minute
    return token.user
