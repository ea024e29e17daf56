"""The prohibited-content categories of seed 004, with stable string ids.

The ids are stored (policies, cases, training labels, model files), so they never change once
released; add new ids instead of renaming. ``parent`` groups the sub-kinds of unfriendly
behaviour and spam so a policy may address a whole family (``"spam"``) at once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Category:
    """One kind of prohibited content or behaviour."""

    id: str
    zh: str
    en: str
    parent: str | None = None
    #: Aggravated categories make the penalty ladder jump steps (seed 004, 违规处罚).
    aggravated: bool = False
    #: True when the category is about behaviour over several messages, not one text.
    behavioural: bool = False


_ALL: tuple[Category, ...] = (
    Category("illegal", "违法信息", "Illegal content"),
    Category("illegal.minors", "危害未成年人", "Harm to minors", parent="illegal", aggravated=True),
    Category("unfriendly", "不友善", "Unfriendly behaviour"),
    Category("unfriendly.contempt", "轻蔑", "Contempt", parent="unfriendly"),
    Category("unfriendly.defamation", "诽谤", "Defamation", parent="unfriendly"),
    Category("unfriendly.mockery", "嘲讽", "Mockery", parent="unfriendly"),
    Category("unfriendly.provocation", "挑衅", "Provocation", parent="unfriendly"),
    Category("unfriendly.humiliation", "羞辱", "Humiliation", parent="unfriendly"),
    Category("unfriendly.abuse", "谩骂", "Abuse", parent="unfriendly"),
    Category("unfriendly.discrimination", "歧视", "Discrimination", parent="unfriendly"),
    Category("unfriendly.threat", "威胁", "Threat", parent="unfriendly"),
    Category("spam", "垃圾广告", "Spam advertising"),
    Category("spam.repeated_ad", "重复广告", "Repeated advertising", parent="spam"),
    Category(
        "spam.coordinated_ad",
        "多账号配合广告",
        "Coordinated multi-account advertising",
        parent="spam",
        aggravated=True,
        behavioural=True,
    ),
    Category("spam.deceptive_link", "欺骗性外链", "Deceptive link", parent="spam"),
    Category("spam.symbol_trick", "特殊符号规避审核", "Symbol tricks to evade review", parent="spam"),
    Category("vulgar", "色情低俗", "Vulgar or sexual content"),
    Category("false_info", "不实信息", "False information"),
    Category("superstition", "封建迷信", "Superstition"),
    Category("clickbait", "标题党", "Clickbait"),
    Category("fan_disorder", "饭圈乱象", "Fan-circle disorder"),
    Category("flood", "刷屏", "Flooding", behavioural=True),
    Category("off_topic", "偏离主题", "Off-topic"),
    Category("water", "灌水", "Chat-only water"),
    Category("multi_account", "滥用多个帐号", "Multi-account abuse", aggravated=True, behavioural=True),
)

CATEGORIES: dict[str, Category] = {c.id: c for c in _ALL}
"""Every category by its stable id, in policy order."""

OK = "ok"
"""The training label for an acceptable message (not a category)."""


def get(category_id: str) -> Category:
    """The category with this id; ``KeyError`` names the unknown id."""
    try:
        return CATEGORIES[category_id]
    except KeyError:
        raise KeyError(f"unknown moderation category {category_id!r}") from None


def family(category_id: str) -> str:
    """The top-level id of a category (``"spam.deceptive_link"`` → ``"spam"``)."""
    return category_id.partition(".")[0]


def is_known(label: str) -> bool:
    """True for a category id or the ``ok`` label."""
    return label == OK or label in CATEGORIES
