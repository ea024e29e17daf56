"""One entry point: :func:`moderate` ``(message, context) → Verdict``.

Pipeline: normalize → contact ids and links → lexicons → ad-shape and obfuscation signals →
behaviour (when the context has a window) → off-topic (when it has a theme) → model (when it
has one). Findings of one family (``spam``, ``unfriendly`` …) are combined with noisy-OR into
a family score; the context's :class:`~qunyun.moderation.policy.Policy` turns the scores into
an action, and the action into ``allow`` / ``review`` / ``block``.

Design choices that keep ordinary chat unflagged: no single weak signal (a link, a price, a
sales word) reaches the review threshold alone; contact ids need a cue; the model, if any, only
counts above a confident probability.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Sequence

from .. import taxonomy
from ..policy import Action, Policy, default_policy
from .behaviour import Window
from .classifier import Model
from .contacts import LinkPolicy, contact_findings, decode_qr, find_contacts
from .findings import Evidence, Finding, combine
from .lexicon import Lexicon, starter_lexicon
from .normalize import has_suspect_chars, normalize, obfuscation_signals
from .offtopic import Theme
from .shapes import shape_findings, water_finding

__all__ = ["Message", "Context", "Verdict", "moderate", "ALLOW", "REVIEW", "BLOCK"]

ALLOW, REVIEW, BLOCK = "allow", "review", "block"

#: Largest score a ``general``-scope model (not trained on this community) may add.
GENERAL_MODEL_WEIGHT = 0.35

#: Weight of the obfuscation score when no other spam signal is present (never enough for review)
#: and when there is one (hiding something that looks like an ad).
OBFUSCATION_ALONE = 0.45
OBFUSCATION_WITH_SPAM = 0.8
#: A spam finding from this score on makes hiding count as hiding an advert.
SPAMMY_FROM = 0.15
#: Heavy hiding (:attr:`~.normalize.ObfuscationSignals.heavy`: two tricks at once, invisible
#: characters splitting words, or a whole message spaced out with symbols) scores this much even
#: with nothing else found — the default policy's review threshold, never its act threshold.
#: Nobody writes like that but to get past a filter (004's 特殊符号规避审核); a person decides.
HEAVY_HIDING_ALONE = 0.6
#: ... when there is that much to hide (letters, digits, Chinese characters): a lone emoji with
#: its variation selector is not hiding anything.
HEAVY_HIDING_MIN_CHARS = 8
#: Separators removed from a message before a symbol-spaced one is possible (8 characters, 7 gaps).
_HEAVY_SPACING_GAPS = 7
#: Characters folding must drop (invisible ones) before heavy hiding by invisible characters is possible.
_HEAVY_INVISIBLE = 3

#: Text detectors read at most this many characters; a longer message is itself flooding.
MAX_CHARS = 20_000

@dataclass(frozen=True, slots=True)
class Message:
    """What the detectors need to know about one message."""

    text: str
    member: str | None = None
    group: str | None = None
    at: datetime | None = None
    mentions: int = 0
    images: tuple[bytes, ...] = ()

    @classmethod
    def from_event(cls, event: Any, *, images: Sequence[bytes] = ()) -> "Message":
        """From a :class:`qunyun.core.events.MessagePosted`."""
        return cls(
            text=event.text or "",
            member=event.author.id,
            group=event.chat,
            at=event.at,
            mentions=len(event.mentions),
            images=tuple(images),
        )


@dataclass(slots=True)
class Context:
    """Everything a verdict depends on besides the message. Build once, reuse for many.

    ``lexicon`` defaults to the shipped starter lists; ``window`` enables the behaviour
    detectors; ``theme`` the off-topic signal; ``model`` the learned signal, which counts from
    probability ``model_floor`` and is scaled by ``model_trust``; when the model is more than
    ``model_veto_from`` sure a message is ``ok``, rule scores are damped (at most halved). That
    is for a model of scope ``community`` (trained on this community's history); a ``general``
    model only adds up to ``GENERAL_MODEL_WEIGHT`` to the rules' evidence.
    """

    policy: Policy = field(default_factory=default_policy)
    lexicon: Lexicon | None = None
    links: LinkPolicy = field(default_factory=LinkPolicy)
    window: Window | None = None
    theme: Theme | None = None
    model: Model | None = None
    model_floor: float = 0.7
    model_trust: float = 0.95
    model_veto_from: float = 0.8

    _obf_alone: tuple[Policy, bool, bool] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.lexicon is None:
            self.lexicon = starter_lexicon()

    def obfuscation_may_flag_alone(self) -> bool:
        """Whether this policy could act on obfuscation with no other signal (remembered per policy)."""
        return self._obfuscation_rule()[1]

    def heavy_hiding_may_flag_alone(self) -> bool:
        """Whether heavy hiding alone reaches this policy's review threshold (the default's does)."""
        return self._obfuscation_rule()[2]

    def _obfuscation_rule(self) -> tuple[Policy, bool, bool]:
        cached = self._obf_alone
        if cached is None or cached[0] is not self.policy:
            rule = self.policy.rule_for("spam.symbol_trick")
            cached = self._obf_alone = (self.policy, rule.enabled and rule.review_at <= OBFUSCATION_ALONE,
                                        rule.enabled and rule.review_at <= HEAVY_HIDING_ALONE)
        return cached


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome for one message. ``score`` is the strongest family score (0..1).

    ``categories``: for each flagged family its leading category first (the one the policy
    acted on), then the other categories found in flagged families, strongest first.
    """

    verdict: str
    categories: tuple[str, ...]
    score: float
    action: Action
    findings: tuple[Finding, ...] = ()
    shadow: bool = False

    @property
    def evidence(self) -> list[Evidence]:
        """Evidence for the flagged categories (original offsets), strongest first, deduplicated.

        Empty for ``allow``. Offsets are mapped on first use (see :meth:`Finding.resolved`).
        """
        if not self.categories:
            return []
        families = {taxonomy.family(c) for c in self.categories}
        seen, out = set(), []
        for f in sorted(self.findings, key=lambda f: -f.score):
            if taxonomy.family(f.category) not in families:
                continue
            for e in f.resolved().evidence:
                if (e.start, e.end) not in seen:
                    seen.add((e.start, e.end))
                    out.append(e)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "categories": list(self.categories),
            "score": round(self.score, 4),
            "action": self.action.value,
            "shadow": self.shadow,
            "evidence": [e.to_dict() for e in self.evidence],
            "findings": [f.to_dict() for f in self.findings],
        }


def text_findings(text: str, ctx: Context) -> tuple[list[Finding], bool, str]:
    """The text-only detectors. Returns findings, whether bait (link/contact) was seen, compact."""
    findings: list[Finding] = []
    if len(text) > MAX_CHARS:
        findings.append(Finding("flood", 0.65, "length", f"{len(text)} characters"))
        text = text[:MAX_CHARS]
    norm = normalize(text)
    c = norm.compact
    contacts = find_contacts(norm, ctx.links)
    if contacts:
        findings += contact_findings(contacts, text)
    assert ctx.lexicon is not None
    findings += ctx.lexicon.scan(norm)
    folded = norm.folded
    shape_findings(norm, text, findings, bool(contacts) and any(k.kind == "url" for k in contacts))
    spammy = False
    for f in findings:
        if f.score >= SPAMMY_FROM and f.category.startswith("spam"):
            spammy = True
            break
    # Hiding needs look-alike/invisible characters or separators between characters; a
    # Chinese sentence whose only change is full-width punctuation has neither.
    # Early exits: alone, hiding scores at most 0.45 — below review unless a policy lowered the
    # threshold — so it is measured only when something else was found or may still be
    # (behaviour findings come later and add up with it), or when it may be heavy, which needs
    # look-alike, full-width or invisible characters or many separators.
    gaps = len(folded) - len(c)  # separators between characters
    measure = folded != text and (spammy or ctx.window is not None or ctx.obfuscation_may_flag_alone()) and (
        gaps >= 2 or has_suspect_chars(text))
    # Heavy hiding needs invisible characters (folding drops them; an emoji's variation selector
    # or two is not enough) or about as many separators as characters; ASCII text can only hide
    # by spacing ids out, which the contact detectors read.
    heavy_possible = len(c) >= HEAVY_HIDING_MIN_CHARS and (
        len(text) - len(folded) >= _HEAVY_INVISIBLE or (gaps >= _HEAVY_SPACING_GAPS and 2 * gaps >= len(c))
    ) and not text.isascii() and ctx.heavy_hiding_may_flag_alone()
    if measure or heavy_possible:
        obf = obfuscation_signals(text, heavy=heavy_possible)
        if obf.score >= 0.25 or obf.heavy:
            ev = tuple(Evidence(s, e, text[s:e], "obfuscation") for s, e in obf.spans[:5])
            # Hiding is damning when there is something to hide, or when it is heavy.
            strength = obf.score * (OBFUSCATION_WITH_SPAM if spammy else OBFUSCATION_ALONE)
            if obf.heavy:
                strength = max(strength, HEAVY_HIDING_ALONE)
            findings.append(Finding("spam.symbol_trick", strength, "obfuscation", f"obfuscation {obf.score:.2f}", ev))
    water = water_finding(c)
    if water is not None:
        findings.append(water)
    if ctx.theme is not None:
        findings += ctx.theme.check(c, text)
    bait = bool(contacts) and any(f.detector.startswith("contacts.") and f.score >= 0.3 for f in findings)
    return findings, bait, c


def moderate(message: Message | str, context: Context | None = None) -> Verdict:
    """Judge one message. Never raises on odd input: empty, huge or binary text gets a verdict."""
    ctx = context or _default_context()
    if isinstance(message, str):
        message = Message(text=message)
    text = message.text if isinstance(message.text, str) else str(message.text or "")
    findings, bait, compact_text = text_findings(text, ctx)

    for image in message.images:
        for payload in decode_qr(image):
            findings.append(Finding("spam", 0.6, "contacts.qr", f"QR code ({len(payload)} characters)"))
            qr_findings, _, _ = text_findings(payload, ctx)
            findings += [Finding(f.category, f.score, f.detector, "in QR code: " + f.reason) for f in qr_findings]
            bait = True

    if ctx.window is not None and message.at is not None:
        findings += ctx.window.observe_message(
            group=message.group or "",
            member=message.member or "",
            at=message.at,
            text=text,
            compact=compact_text,
            mentions=message.mentions,
            has_bait=bait,
        )
    elif message.mentions >= 5:
        findings.append(Finding("spam", 0.7, "behaviour.mentions", f"{message.mentions} mentions"))

    damp = 1.0
    if ctx.model is not None and text and ctx.model.scope == "general":
        # A model trained elsewhere memorises its own data: it may only add a little weight to
        # what the rules already see, never flag on its own.
        for label, p in ctx.model.predict_proba_compact([compact_text])[0].items():
            if label != taxonomy.OK and p > 0.5:
                findings.append(Finding(label, GENERAL_MODEL_WEIGHT * (p - 0.5) / 0.5, "model.general", f"model probability {p:.2f}"))
    elif ctx.model is not None and text:
        probs = ctx.model.predict_proba_compact([compact_text])[0]
        for label, p in probs.items():
            if label != taxonomy.OK and p >= ctx.model_floor:
                findings.append(Finding(label, p * ctx.model_trust, "model", f"model probability {p:.2f}"))
        # A model trained on this community's reviewed history that is very sure a message is
        # fine (moderators overturned messages like it) halves the rule scores at most.
        p_ok = probs.get(taxonomy.OK, 0.0)
        if p_ok > ctx.model_veto_from:
            damp = 1.0 - 0.5 * min(1.0, (p_ok - ctx.model_veto_from) / (1.0 - ctx.model_veto_from))

    return _decide(findings, ctx.policy, damp)


def _decide(findings: list[Finding], policy: Policy, damp: float = 1.0) -> Verdict:
    if not findings:  # most messages: nothing to weigh
        return Verdict(ALLOW, (), 0.0, Action.ALLOW, (), policy.shadow)
    by_family: dict[str, list[Finding]] = {}
    for f in findings:
        fam = f.category.partition(".")[0]
        same = by_family.get(fam)
        if same is None:
            by_family[fam] = [f]
        else:
            same.append(f)
    scores: dict[str, float] = {}
    actions: dict[str, Action] = {}
    action = Action.ALLOW
    for fs in by_family.values():
        if len(fs) == 1:
            f = fs[0]
            lead = f.category
            score = f.score if f.detector == "model" else combine((f.score,)) * damp
        else:
            lead = max(fs, key=lambda f: f.score).category
            rule_score = combine([f.score for f in fs if f.detector != "model"])
            model_score = max((f.score for f in fs if f.detector == "model"), default=0.0)
            score = max(rule_score * damp, model_score)
        scores[lead] = score
        act = actions[lead] = policy.rule_for(lead).decide(score)
        if act.rank > action.rank:
            action = act
    top = max(scores.values())
    if action is Action.ALLOW:
        return Verdict(ALLOW, (), top, action, tuple(findings), policy.shadow)
    flagged = [c for c, _s in sorted(scores.items(), key=lambda kv: -kv[1]) if actions[c] is not Action.ALLOW]
    # Also name the other categories seen in a flagged family (strongest first): the ladder
    # needs to know about aggravated ones such as spam.coordinated_ad even when a lexicon hit
    # scored higher.
    for lead in list(flagged):
        for f in sorted(by_family[taxonomy.family(lead)], key=lambda f: -f.score):
            if f.category not in flagged:
                flagged.append(f.category)
    verdict = BLOCK if action.rank >= Action.DELETE.rank else REVIEW if action is Action.REVIEW else ALLOW
    return Verdict(verdict, tuple(flagged), top, action, tuple(findings), policy.shadow)


_DEFAULT: Context | None = None


def _default_context() -> Context:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Context()
    return _DEFAULT
