"""Platform-qualified identifiers.

Every account, chat and message that comes from a platform is named by a string of the form
``platform:local`` (``telegram:-100123``, ``onebot:qq:123456``, ``matrix:@ann:example.org``).
The platform part is everything up to the first colon; the rest is the platform's own id,
kept verbatim, so two platforms can never collide and the original id is always recoverable.
"""

from __future__ import annotations

import re

_PLATFORM_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


class InvalidId(ValueError):
    """A string that is not a platform-qualified id."""


def qualify(platform: str, local: object) -> str:
    """Return the qualified id for ``local`` on ``platform``.

    >>> qualify("telegram", -100123)
    'telegram:-100123'
    """
    if not _PLATFORM_RE.match(platform):
        raise InvalidId(f"platform name {platform!r} must be lower-case letters, digits, '_' or '-'")
    text = str(local)
    if not text:
        raise InvalidId(f"empty id on platform {platform!r}")
    return f"{platform}:{text}"


def split(qualified: str) -> tuple[str, str]:
    """Split a qualified id into ``(platform, local)``."""
    platform, sep, local = qualified.partition(":")
    if not sep or not local or not _PLATFORM_RE.match(platform):
        raise InvalidId(f"{qualified!r} is not of the form 'platform:id'")
    return platform, local


def platform_of(qualified: str) -> str:
    """The platform part of a qualified id."""
    return split(qualified)[0]
