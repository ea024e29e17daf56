"""Off-topic drift: a review-only signal, off in the default policy."""

from qunyun.moderation.detection.offtopic import Theme
from qunyun.moderation.detection.verdict import Context, moderate
from qunyun.moderation.policy import PolicyOverride, default_policy

THEME = Theme.from_texts(
    [
        "Python 编程学习交流群：讨论代码、调试、库的用法、面试题、项目经验。",
        "欢迎分享 Python 教程、报错解决方法、Django 和数据分析的问题。",
    ]
)


def test_on_topic_and_short_messages_are_not_flagged():
    assert THEME.check("这个python报错怎么解决代码贴在下面了", "这个 Python 报错怎么解决？代码贴在下面了") == []
    assert THEME.check("好的", "好的") == []


def test_far_from_the_theme_is_an_off_topic_finding():
    found = THEME.check("今晚楼下超市鸡蛋打折买一送一快去抢", "今晚楼下超市鸡蛋打折，买一送一，快去抢")
    assert found and found[0].category == "off_topic"


def test_off_topic_only_counts_when_the_operator_switches_it_on():
    text = "今晚楼下超市鸡蛋打折，买一送一，快去抢"
    assert moderate(text, Context(theme=THEME)).verdict == "allow"
    policy = default_policy().merged(PolicyOverride(rules={"off_topic": {"enabled": True}}))
    v = moderate(text, Context(theme=THEME, policy=policy))
    assert v.verdict == "review" and "off_topic" in v.categories
