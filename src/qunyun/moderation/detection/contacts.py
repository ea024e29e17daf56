"""Contact bait and links: phone numbers, WeChat and QQ ids, e-mail, URLs, QR codes.

Works on a :class:`~qunyun.moderation.detection.normalize.Normalized` message, so ``加 V ：
ａｂｃ１２３``, ``ｑｑ①②③④⑤⑥`` and ``薇信`` are all seen for what they are. Chinese numerals
(一二三, 壹贰叁) are read as digits only for these patterns (length-preserving, so offsets hold).

A bare number is not a contact: a QQ number needs a cue (``q``, ``扣扣``, ``加``…), a WeChat id
needs a cue (``vx``, ``v信``, ``薇``…); only a Chinese mobile number (11 digits, ``1[3-9]``) and
e-mail addresses stand alone. Ordinary chat is full of numbers and links, so the weights below
make a plain link weak evidence and a shortener or a deny-listed domain strong evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

from .findings import Evidence, Finding
from .normalize import Normalized

__all__ = ["Contact", "LinkPolicy", "find_contacts", "contact_findings", "decode_qr"]

_O_ZERO_RE = re.compile(r"(?<=\d)o+(?=[\do]*\d)|(?<=\d)o+(?![a-z])|(?<![a-z])o+(?=\d\d)")
_DIGIT_RUN_RE = re.compile(r"\d{5}")
_WECHAT_CJK_GATE_RE = re.compile(r"[微威薇徽维唯为胃魏嶶信芯心号泡围伟危]")
# Chinese numerals and the homophones spammers use for digits in ids ("衣伍扒伍尔溜玲玲"):
# one character each, so offsets are unchanged. Only contact-id patterns read this view, and
# they need long runs after a cue, so ordinary words made of these characters do not matter.
_DIGIT_CHARS = {
    "0": "零〇玲铃灵洞令",
    "1": "一壹幺衣依伊医",
    "2": "二贰两尔儿",
    "3": "三叁伞散",
    "4": "四肆寺似",
    "5": "五伍捂舞吾",
    "6": "六陆溜遛",
    "7": "七柒妻期漆",
    "8": "八捌扒巴吧",
    "9": "九玖酒久就",
}
_DIGITS = str.maketrans({ch: d for d, chars in _DIGIT_CHARS.items() for ch in chars})
_CJK_DIGIT_RUN_RE = re.compile("[" + "".join(_DIGIT_CHARS.values()) + "]{3}")

# Cue words for WeChat, in their folded (simplified, lower-case) form. Homophones and
# nicknames are what spammers use once 微信 itself is filtered. Latin cues ("v", "vx") are
# everywhere in English words, so after them an id must carry digits (see _plausible_id).
WECHAT_CJK_CUES = (
    "微信号|微信|威信|薇信|徽信|维信|唯信|为信|胃信|魏信|嶶信|围信|伟信|危信|微芯|威芯|薇芯|"
    "v信|v芯|v心|wei信|v号|绿泡泡|微|薇|威|徽"
)
WECHAT_LATIN_CUES = "weixin|wechat|vchat|vx|wx|v"
QQ_CUES = "qq号|qq|扣扣|抠抠|寇寇|口口|企鹅号|企鹅|球球|q号|q群|qq群|群号|q|扣|加群|进群"

_WECHAT_RE = re.compile(
    rf"(?:({WECHAT_CJK_CUES})|({WECHAT_LATIN_CUES})) ?(?:号|号码|id)?(?:是|为)? ?"
    r"([a-z][a-z0-9-]{4,19}|1[3-9]\d{9}|\d{6,18})(?![a-z0-9])"
)
_QQ_RE = re.compile(rf"(?:{QQ_CUES}) ?(?:号|号码)?(?:是|为)?(\d{{5,11}})(?!\d)")
# "加" + a number, as in 需要的加1692009621: the commonest ad sign-off in Chinese groups.
# "询 2891558", "致电 85220606": the sign-off of marketing SMS, a business's landline.
_ADD_NUMBER_RE = re.compile(
    r"(?:(加|嘉|➕|联系|找|滴|私|咨询|详询)|电话|热线|tel|call|询|致电|订购|预订|订房|报名)(?:我|下|一下|电话|热线)?"
    r"(\d{6,12})(?!\d)"
)
# Toll-free / service numbers (400, 800) are what businesses print in ads.
_SERVICE_RE = re.compile(r"(?<!\d)([48]00\d{7})(?!\d)")
# A bare landline number closing a message, before at most a short signature ("…欢迎品鉴
# 87880606", "…询80967977【学成】"): how marketing texts sign off. Weak on its own.
_LANDLINE_END_RE = re.compile(r"(?<!\d)((?:0\d{2,3})?[2-8]\d{6,7})(?=[\u4e00-\u9fff]{0,8}$)")
_CN_MOBILE_RE = re.compile(r"(?<!\d)(?:86)?(1[3-9]\d{9})(?!\d)")
# Folded view (separators kept): international / UK style numbers in English SMS spam.
_INTL_PHONE_RE = re.compile(r"(?<![\w+])(\+\d[\d ()-]{8,16}\d|0[1-9]\d{8,11})(?!\d)")
_EMAIL_RE = re.compile(r"[a-z0-9._%+-]{1,64}@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63})*\.[a-z]{2,12}")
_TLDS = (
    "com|cn|net|org|top|xyz|vip|cc|me|io|ly|gl|app|shop|club|site|online|info|biz|tk|ml|ga|cf|gq|"
    "ru|co|tv|link|live|fun|win|bid|loan|work|click|pw|ws|su|hk|tw|in|uk|de|us|ai|gg|to|im|la"
)
_URL_RE = re.compile(
    rf"(?:https?://|www\.)[^\s<>\"'，。）】]+|(?<![\w@.-])(?:[a-z0-9-]{{1,63}}\.)+(?:{_TLDS})(?![a-z0-9-])(?:/[^\s<>\"'，。）】]*)?"
)
# Dots written out: www点abc点com, abc dot com (on the compact view).
# A link needs a scheme, "www" or a known top-level domain: "file.txt" and "e.g." are not worth
# running the full URL pattern for.
_URL_GATE_RE = re.compile(rf"://|www\.|\.(?:{_TLDS})(?![a-z0-9-])")
# A link written one character at a time ("h♥t♥t♥p♥:♥/♥/♥t♥.♥c♥n"): in the compact view the
# scheme runs straight into the host and its ending.
_BROKEN_URL_RE = re.compile(rf"(?:https?|www)[a-z0-9-]{{1,40}}?(?:{_TLDS})")
_SPELLED_URL_RE = re.compile(rf"(?:www)?(?:点|dot|。)?[a-z0-9-]{{2,40}}(?:点|dot)(?:{_TLDS})(?![a-z])")

SHORTENERS = frozenset(
    "bit.ly t.cn dwz.cn url.cn tinyurl.com goo.gl t.co ow.ly is.gd suo.im u.nu buff.ly "
    "rebrand.ly cutt.ly shorturl.at s.id tiny.cc rb.gy v.gd t.ly 0x0.st mrw.so sina.lt".split()
)


@dataclass(frozen=True, slots=True)
class LinkPolicy:
    """Domains a community trusts (never flagged) or forbids (always strong evidence).

    A listed domain also covers its subdomains.
    """

    allow: frozenset[str] = frozenset()
    deny: frozenset[str] = frozenset()
    shorteners: frozenset[str] = SHORTENERS

    @staticmethod
    def _covers(domains: frozenset[str], host: str) -> bool:
        parts = host.split(".")
        return any(".".join(parts[i:]) in domains for i in range(len(parts) - 1))

    def classify(self, host: str) -> str:
        """``allowed``, ``denied``, ``shortener`` or ``plain``."""
        if self._covers(self.allow, host):
            return "allowed"
        if self._covers(self.deny, host):
            return "denied"
        if host in self.shorteners:
            return "shortener"
        return "plain"


@dataclass(slots=True)
class Contact:
    """A contact id or link found in a message.

    ``span`` is in the ``view`` (``compact`` or ``folded``) of the normalized message;
    :attr:`start` / :attr:`end` give ORIGINAL offsets, mapped on first use.
    """

    kind: str  # wechat | qq | add_number | phone | hotline | intl_phone | email | url
    value: str
    span: tuple[int, int]
    view: str = "compact"
    detail: str = ""  # for URLs: allowed | denied | shortener | plain | spelled
    norm: Normalized | None = field(default=None, repr=False, compare=False)

    def _original(self) -> tuple[int, int]:
        if self.norm is None:
            return self.span
        if self.view == "folded":
            return self.norm.original_span_folded(*self.span)
        return self.norm.original_span(*self.span)

    @property
    def start(self) -> int:
        return self._original()[0]

    @property
    def end(self) -> int:
        return self._original()[1]


_KIND_WEIGHT = {
    "wechat": 0.8,
    "qq": 0.78,
    "add_number": 0.78,
    "hotline": 0.4,
    "landline": 0.3,
    "phone": 0.55,
    "intl_phone": 0.35,
    "email": 0.3,
    "qr": 0.6,
}
_URL_WEIGHT = {"allowed": 0.0, "plain": 0.15, "shortener": 0.4, "denied": 0.95, "spelled": 0.7}


def find_contacts(norm: Normalized, links: LinkPolicy | None = None) -> list[Contact]:
    """Every contact id and link in the message (deduplicated by kind and value)."""
    compact = norm.compact
    folded = norm.folded
    # Cheap gates first (most chat has no contact at all): an e-mail needs "@", a link a dot
    # before a known ending or a spelled-out dot, every id a digit or a WeChat cue. The digit
    # view is needed only when there are digits, or a run of Chinese numerals or homophones
    # long enough to spell part of an id.
    has_email = "@" in folded
    has_url = "." in folded and _URL_GATE_RE.search(folded) is not None
    spelled = "点" in compact or "dot" in compact
    cjk = not compact.isascii()  # the Chinese cues and numerals need a non-ASCII character
    any_digit = norm.has_digit() or (cjk and _CJK_DIGIT_RUN_RE.search(compact) is not None)
    wechat_cjk = cjk and _WECHAT_CJK_GATE_RE.search(compact) is not None
    broken = cjk and ("http" in compact or "www" in compact)
    if not (has_email or has_url or spelled or any_digit or wechat_cjk or broken):
        return []
    links = links or _DEFAULT_LINKS
    out: list[Contact] = []
    seen: set[tuple[str, str]] = set()

    def add_compact(kind: str, value: str, span: tuple[int, int], detail: str = "") -> None:
        if (kind, value) not in seen:
            seen.add((kind, value))
            out.append(Contact(kind, value, span, "compact", detail, norm))

    def add_folded(kind: str, value: str, span: tuple[int, int], detail: str = "") -> None:
        if (kind, value) not in seen:
            seen.add((kind, value))
            out.append(Contact(kind, value, span, "folded", detail, norm))

    # URLs and e-mail first, on the folded view where dots and slashes survive.
    if has_email:
        for m in _EMAIL_RE.finditer(folded):
            add_folded("email", m.group(0), m.span())
    if has_url:
        for m in _URL_RE.finditer(folded):
            url = m.group(0).rstrip(".,;:!?)")
            if "@" in folded[max(0, m.start() - 1) : m.start()]:
                continue  # the domain of an e-mail address
            host = _host(url)
            span = (m.start(), m.start() + len(url))
            if url != norm.original[span[0] : span[1]]:
                # Report the link as written: paths of shortened links are case-sensitive.
                s, e = norm.original_span_folded(*span)
                if norm.original[s:e].isascii():
                    url = norm.original[s:e]
            add_folded("url", url, span, links.classify(host))
    if spelled:
        for m in _SPELLED_URL_RE.finditer(compact):
            add_compact("url", m.group(0), m.span(), "spelled")

    if broken and not any(c.kind == "url" for c in out):
        m = _BROKEN_URL_RE.search(compact)
        if m:
            add_compact("url", m.group(0), m.span(), "spelled")

    digits = compact.translate(_DIGITS) if any_digit else compact
    if any_digit and "o" in digits:  # "q373o26oo4": the letter o standing for zero
        digits = _O_ZERO_RE.sub(lambda m: "0" * len(m.group(0)), digits)
    # Ids after Latin cues ("v", "wx") need digits, QQ numbers and phones a run of five;
    # without digits only a Chinese WeChat cue can still introduce an id.
    has_digit = any_digit and _DIGIT_RUN_RE.search(digits) is not None
    if wechat_cjk or (any_digit and ("v" in digits or "w" in digits)):
        _find_wechat(digits, add_compact)
    if not has_digit:
        return out
    for m in _QQ_RE.finditer(digits):
        if _is_word_inside(digits, m.start()):
            continue
        add_compact("qq", m.group(1), m.span())
    for m in _ADD_NUMBER_RE.finditer(digits):
        if any(c.kind in ("qq", "wechat") and c.value == m.group(2) for c in out):
            continue
        # "加 + number" asks to be added; "电话 + number" is a hotline, weaker evidence.
        kind = "add_number" if m.group(1) else "phone" if _CN_MOBILE_RE.fullmatch(m.group(2)) else "hotline"
        add_compact(kind, m.group(2), m.span())
    for m in _CN_MOBILE_RE.finditer(digits):
        if any(c.value == m.group(1) for c in out):
            continue
        add_compact("phone", m.group(1), m.span(1))
    for m in _SERVICE_RE.finditer(digits):
        if not any(c.value == m.group(1) for c in out):
            add_compact("hotline", m.group(1), m.span(1))
    if not out:
        m = _LANDLINE_END_RE.search(digits, max(0, len(digits) - 22))  # (it must end the text)
        if m:
            add_compact("landline", m.group(1), m.span(1))
    if not any(c.kind == "phone" for c in out):
        for m in _INTL_PHONE_RE.finditer(folded):
            value = re.sub(r"\D", "", m.group(1))
            if 10 <= len(value) <= 14 and not any(c.value == value for c in out):
                add_folded("intl_phone", value, m.span(1))
    return out


def _find_wechat(digits: str, add) -> None:
    for m in _WECHAT_RE.finditer(digits):
        cue = m.group(2) or ""
        if cue == "v" and m.start() > 0 and not digits[m.start() - 1].isascii():
            cue = "v after cjk"  # 加V：abc123 — a lone v glued to Chinese is a cue
        if _is_word_inside(digits, m.start()) or not _plausible_id(m.group(3), cue=cue):
            continue
        add("wechat", m.group(3), m.span())


def _plausible_id(value: str, *, cue: str) -> bool:
    # A WeChat id is 6-20 characters; people choose letters+digits. After a Latin cue the
    # "id" is often just the rest of an English word ("v" + "ersion610", "visudo"): a lone
    # "v" that does not follow Chinese must be followed by a digit, and any Latin cue needs
    # 3+ digits in the id.
    digits = sum(c.isdigit() for c in value)
    if cue:
        if cue == "v" and not value[0].isdigit():
            return False
        if cue == "v" and value.isdigit() and len(value) < 8:
            return False  # "v11，2700钻石": a VIP level glued to a price, not an id
        return digits >= 3 and len(value) >= 6
    return len(value) >= 6 and (digits >= 2 or value.isdigit() or len(value) >= 8)


def _is_word_inside(text: str, start: int) -> bool:
    # A cue like "v" or "q" glued to the end of a Latin word ("dev123456", "faq2024") is not a
    # cue; one after CJK, a digit or the start is.
    return start > 0 and text[start - 1].isascii() and text[start - 1].isalpha()


def _host(url: str) -> str:
    u = re.sub(r"^(?:https?://)", "", url)
    host = re.split(r"[/?#:]", u, maxsplit=1)[0]
    return host.removeprefix("www.").strip(".")


_DEFAULT_LINKS = LinkPolicy()


def contact_findings(contacts: Iterable[Contact], original: str = "") -> list[Finding]:
    """Turn contacts into spam findings (weights above; documented in docs/moderation.md)."""
    out: list[Finding] = []
    for c in contacts:
        if c.kind == "url":
            weight = _URL_WEIGHT.get(c.detail, 0.15)
            category = "spam.deceptive_link" if c.detail in ("denied", "shortener", "spelled") else "spam"
        else:
            weight = _KIND_WEIGHT.get(c.kind, 0.3)
            category = "spam"
        if weight <= 0:
            continue
        note = f"{c.kind}:{c.detail}" if c.detail else c.kind
        reason = f"{c.kind} {c.detail}".strip()
        if c.norm is None:
            out.append(Finding(category, weight, f"contacts.{c.kind}", reason, (Evidence(*c.span, original[slice(*c.span)], note),)))
        else:  # offsets are mapped only if the evidence is shown
            out.append(Finding(category, weight, f"contacts.{c.kind}", reason, pending=(c.norm, ((*c.span, note, c.view),))))
    return out


def decode_qr(image: bytes) -> list[str]:
    """Texts of the QR codes (and other barcodes) in an image; ``[]`` when none or undecodable.

    Uses ``zxing-cpp`` with Pillow. Returns ``[]`` instead of failing when the libraries are
    missing or the bytes are not an image: a broken attachment must not stop moderation.
    """
    if not image:
        return []
    try:
        import io

        import zxingcpp
        from PIL import Image
    except ImportError:  # pragma: no cover - optional at runtime
        return []
    try:
        with Image.open(io.BytesIO(image)) as img:
            img.load()
            results = zxingcpp.read_barcodes(img.convert("L"))
    except Exception:  # a corrupt or unsupported image is simply "no code found"
        return []
    return [r.text for r in results if r.text]
