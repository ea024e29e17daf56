"""What members are told (in their group's language) and the signed appeal link of a case.

The appeal link is ``{QUNYUN_PUBLIC_URL}/appeal/<token>/`` where the token signs the case id
with the installation's secret key: no login, but nobody can guess another member's link.
Member notices use the community's ``settings["language"]`` when set, else ``QUNYUN_LANGUAGE``.
"""

from __future__ import annotations

import os
from datetime import datetime

from django.conf import settings
from django.core import signing
from django.utils import translation
from django.utils.translation import gettext as _

from qunyun.core.timeutil import zone

APPEAL_SALT = "qunyun.moderation.appeal"
APPEAL_DAYS = 30
"""A case can be appealed for this many days after it was opened."""

APPEAL_PATH = "/appeal/{token}/"
"""The path of the appeal page (``moderation:appeal``; a test checks that the two agree). Written
out rather than reversed: a worker process that only sends notices would otherwise load the
console's whole URL configuration (views, API, templates) on its first case, 0.2–0.4 s of CPU."""


def public_url() -> str:
    """Where members' browsers reach qunyun (``QUNYUN_PUBLIC_URL``, default http://localhost:8000)."""
    return os.environ.get("QUNYUN_PUBLIC_URL", "http://localhost:8000").rstrip("/")


def appeal_token(case) -> str:
    """The signed token of a case's appeal link."""
    return signing.dumps({"case": case.pk}, salt=APPEAL_SALT, compress=True)


def appeal_case_id(token: str) -> int | None:
    """The case id a token was made for, or ``None`` when it is forged or damaged."""
    try:
        data = signing.loads(token, salt=APPEAL_SALT)
    except signing.BadSignature:
        return None
    case_id = data.get("case") if isinstance(data, dict) else None
    return case_id if isinstance(case_id, int) else None


def appeal_url(case) -> str:
    return public_url() + APPEAL_PATH.format(token=appeal_token(case))


def member_language(community) -> str:
    return str((community.settings or {}).get("language") or settings.LANGUAGE_CODE)


def _when(moment: datetime, community) -> str:
    return moment.astimezone(zone(community.time_zone)).strftime("%Y-%m-%d %H:%M")


def penalty_notice(case, *, community, until: datetime | None) -> str:
    """The message that tells a member about a ladder step, the case number and how to appeal."""
    with translation.override(member_language(community)):
        name = case.member.display_name if case.member else case.account_id
        step = case.step
        if step == "warning":
            what = _("%(name)s, your message was removed and this is a warning.") % {"name": name}
        elif step == "ban":
            what = _("%(name)s, your message was removed and you are banned from this group.") % {"name": name}
        else:
            what = _("%(name)s, your message was removed and you are muted until %(until)s.") % {
                "name": name, "until": _when(until, community) if until else "?"}
        how = _("Case #%(number)s. To appeal, open %(url)s or write: /appeal %(number)s <your reason>") % {
            "number": case.number, "url": appeal_url(case)}
        return f"{what} {how}"


def appeal_received_notice(case, *, community) -> str:
    with translation.override(member_language(community)):
        return _("Your appeal against case #%(number)s was received; a moderator will decide.") % {
            "number": case.number}


def appeal_unknown_notice(number: str, *, community) -> str:
    with translation.override(member_language(community)):
        return _("There is no case #%(number)s of yours to appeal.") % {"number": number}


def appeal_decided_notice(case, *, community, accepted: bool) -> str:
    with translation.override(member_language(community)):
        if accepted:
            return _("Your appeal against case #%(number)s was accepted; the penalty is lifted.") % {
                "number": case.number}
        return _("Your appeal against case #%(number)s was not accepted.") % {"number": case.number}
