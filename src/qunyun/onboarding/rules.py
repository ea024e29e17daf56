"""Pure onboarding logic: choosing and filling a welcome, matching FAQ entries, screening answers.

No Django here: :mod:`.config` loads the community's settings into these dataclasses and
:mod:`.handlers` turns their results into decisions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: The variables a welcome template may use.
VARIABLES = ("name", "group", "channel", "member_count", "rules_link")
_VAR_RE = re.compile(r"\{([^{}]*)\}")


class TemplateError(ValueError):
    """A template with an unknown variable; the message names it."""


def template_check(text: str) -> None:
    """Refuse a template that uses a variable we do not fill (a typo would show to members)."""
    for match in _VAR_RE.finditer(text):
        if match.group(1) not in VARIABLES:
            raise TemplateError(f"unknown variable {{{match.group(1)}}} in the template "
                                f"(use {', '.join('{' + v + '}' for v in VARIABLES)})")


def template_fill(text: str, values: dict[str, object]) -> str:
    """Fill the variables; anything else in braces is left as written."""
    return _VAR_RE.sub(lambda m: str(values.get(m.group(1), m.group(0))) if m.group(1) in VARIABLES
                       else m.group(0), text)


@dataclass(frozen=True, slots=True)
class Welcome:
    text: str
    with_rules: bool = False


def welcome_choose(welcomes: dict[tuple[str | None, str | None], Welcome], *, channel: str | None,
                   chat: str) -> Welcome | None:
    """The most specific welcome: this group and channel, this channel, this group's default, the default."""
    for key in ((channel, chat), (channel, None), (None, chat), (None, None)):
        if key in welcomes:
            return welcomes[key]
    return None


@dataclass(frozen=True, slots=True)
class ScreeningRule:
    question: str
    answers: tuple[str, ...] = ()
    buttons: bool = False
    timeout_seconds: int = 300

    def accepts(self, text: str) -> bool:
        """Whether ``text`` answers the question (any message, when no answers are set)."""
        if not self.answers:
            return bool(text.strip())
        folded = text.strip().casefold()
        return any(answer.casefold() == folded or answer.casefold() in folded for answer in self.answers)


@dataclass(frozen=True, slots=True)
class FaqRule:
    id: int
    chat: str | None  # None = every group
    pattern: str
    is_regex: bool
    answer: str
    cooldown_seconds: int
    _regex: re.Pattern | None = field(default=None, compare=False)

    @classmethod
    def build(cls, *, id: int, chat: str | None, pattern: str, is_regex: bool, answer: str,
              cooldown_seconds: int) -> "FaqRule":
        regex = re.compile(pattern, re.IGNORECASE) if is_regex else None
        return cls(id, chat, pattern, is_regex, answer, cooldown_seconds, regex)

    def matches(self, text: str) -> bool:
        if self._regex is not None:
            return self._regex.search(text) is not None
        return self.pattern.casefold() in text.casefold()


def faq_check_pattern(pattern: str, is_regex: bool) -> None:
    """Refuse an empty keyword or a regular expression that does not compile, with the reason."""
    if not pattern.strip():
        raise TemplateError("the FAQ pattern is empty")
    if is_regex:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise TemplateError(f"the regular expression {pattern!r} is invalid: {exc}") from None


def faq_find(rules: tuple[FaqRule, ...], *, chat: str, text: str) -> FaqRule | None:
    """The first FAQ entry for this group (its own first, then community-wide) that matches."""
    if not text:
        return None
    for rule in sorted(rules, key=lambda r: (r.chat is None, r.id)):
        if (rule.chat is None or rule.chat == chat) and rule.matches(text):
            return rule
    return None
