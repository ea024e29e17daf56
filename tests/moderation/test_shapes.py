"""Ad shapes: game-currency and marketing adverts are seen, everyday talk about the same things is not."""

import pytest

from qunyun.moderation.detection.verdict import moderate


def shape_detectors(text):
    return {f.detector for f in moderate(text).findings if f.detector.startswith("shape.")}


@pytest.mark.parametrize(
    "text",
    [
        "出银两110万50块",  # trade + price
        "70出1800储备",  # money for goods
        "一元八万钻",  # in Chinese numerals
        "字0.5个.银1:12000.储备半价",  # exchange rate (the colon survives only in the folded view)
        "需要喇叭的滴滴",  # goods named next to a call to action
        "半价出13个喇叭，要的私聊",
        "100万银子100出，要的来",  # goods first, verb last
        "原价23800元，现价18800元，仅需首付两成，详询2891558",  # marketing SMS
        "64个喇叭要的嘀嘀嘀嘀",
        "有没有要储备的，一共8000，5折",  # asking for buyers
        "出喇叭，改名卡，元宝",  # a listing of goods
        "江景洋房36万/套起，交2万抵4万，欢迎品鉴87880606",  # a property push signed with a landline
    ],
)
def test_adverts_reach_review(text):
    v = moderate(text)
    assert v.verdict != "allow", v.to_dict()
    assert v.categories[0].startswith("spam")
    for e in v.evidence:
        assert text[e.start:e.end] == e.text


@pytest.mark.parametrize(
    "text",
    [
        "我现在有170万金币，不敢下线了",  # a quantity of goods is chat
        "有没有刷500万金币的外挂",
        "收到2条消息，出门5分钟就回",
        "我们上上一把，111比124",  # a score, not a rate
        "12:30 在门口集合",  # a clock time
        "用金币买的通通都要买",
        "大家有问题可以私聊我，我是这次活动的负责人",
        "一起去吃饭吧，我请客",
        "有没有要一起去的",
        "银子不够用，元宝也没了",
        "我们一起去吧，早上8点起床",
        "我家电话是87880606",  # a number alone is not an advert
    ],
)
def test_everyday_talk_is_allowed(text):
    assert moderate(text).verdict == "allow", moderate(text).to_dict()


def test_each_shape_names_itself():
    assert "shape.trade" in shape_detectors("出元宝")
    assert "shape.rmt" in shape_detectors("一元八万钻")
    assert "shape.call_to_action" in shape_detectors("要银子的速度联系")
    assert "shape.promo_price" in shape_detectors("仅需98元")
    assert shape_detectors("今天天气不错") == set()


@pytest.mark.parametrize(
    "text",
    [
        "银·子·5·0·=·8·0·w",  # a rate with every character spaced apart
        "贰伍零=壹贰万银",  # a rate in numerals
        "一比二零零零零收银子",  # 1比20000 in numerals
        "二五出三零零零储备",  # money for goods in numerals
    ],
)
def test_rates_hidden_by_spacing_or_numerals_reach_review(text):
    v = moderate(text)
    assert v.verdict != "allow", v.to_dict()
    assert "shape.rmt" in shape_detectors(text)
    for e in v.evidence:
        assert text[e.start:e.end] == e.text


def test_promoted_price_in_numerals():
    assert "shape.promo_price" in shape_detectors("原价玖捌，现价叁玖")


@pytest.mark.parametrize(
    "text",
    ["一比一还原，质量很好", "我们三比零赢了", "时间：一点半，地点：二楼", "a = b 的时候怎么办", "二十出头的年纪"],
)
def test_numerals_in_everyday_talk_are_allowed(text):
    assert moderate(text).verdict == "allow", moderate(text).to_dict()
    assert "shape.rmt" not in shape_detectors(text)
