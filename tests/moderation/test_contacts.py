"""Contact ids and links, written plainly and with evasions."""

import io

import pytest

from qunyun.moderation.detection.contacts import LinkPolicy, decode_qr, find_contacts
from qunyun.moderation.detection.normalize import normalize


def kinds(text, links=None):
    return {(c.kind, c.value) for c in find_contacts(normalize(text), links)}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("加我微信abc_12345", ("wechat", "abc12345")),
        ("加 V ： ａｂｃ１２３４", ("wechat", "abc1234")),
        ("薇信 xy9988776", ("wechat", "xy9988776")),
        ("vx:go2win888", ("wechat", "go2win888")),
        ("QQ：①②③④⑤⑥⑦", ("qq", "1234567")),
        ("加我扣扣一三八七七六五四三", ("qq", "138776543")),
        ("企鹅 壹贰叁肆伍陆柒", ("qq", "1234567")),
        ("需要的加1692009621", ("add_number", "1692009621")),
        ("电话 138 1234 5678", ("phone", "13812345678")),
        ("联系 foo.bar@example.com", ("email", "foo.bar@example.com")),
        ("欢迎到店选购 溜伍伍酒伞柒柒柒", ("landline", "65593777")),  # a landline in homophones
        ("拨打热线肆零零柒贰零零贰零贰", ("hotline", "4007200202")),
        ("嘉我1692009621", ("add_number", "1692009621")),
        ("求微37458383012735", ("wechat", "37458383012735")),  # an id padded with a counter
        ("➕我1692009621", ("add_number", "1692009621")),
    ],
)
def test_contact_ids(text, expected):
    assert expected in kinds(text)


@pytest.mark.parametrize(
    "text",
    [
        "for version 6.10 use visudo",
        "I have 700 coins and 2000 gems",
        "bug 1234567 is fixed in v2.7",
        "qwerty keyboard",
        "今天打了20000分",
    ],
)
def test_ordinary_text_has_no_contact(text):
    assert not [k for k in kinds(text) if k[0] != "url"]


def test_links_allow_deny_and_shorteners():
    links = LinkPolicy(allow=frozenset({"ubuntu.com"}), deny=frozenset({"bad-site.top"}))
    found = {c.value: c.detail for c in find_contacts(normalize("see https://help.ubuntu.com/x http://bit.ly/3xY and win.bad-site.top"), links)}
    assert found["https://help.ubuntu.com/x"] == "allowed"
    assert found["http://bit.ly/3xY"] == "shortener"
    assert found["win.bad-site.top"] == "denied"


def test_spelled_out_domain():
    assert ("url", "www点abc点com") in kinds("www点abc点com")


def test_qr_code_is_decoded_from_image_bytes():
    zxingcpp = pytest.importorskip("zxingcpp")
    pytest.importorskip("PIL")
    if not hasattr(zxingcpp, "create_barcode"):
        pytest.skip("this zxing-cpp cannot write barcodes")
    code = zxingcpp.create_barcode("https://u.wechat.com/abc", zxingcpp.BarcodeFormat.QRCode)
    img = zxingcpp.write_barcode_to_image(code, scale=4)
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(__import__("numpy").asarray(img)).save(buf, format="PNG")
    assert decode_qr(buf.getvalue()) == ["https://u.wechat.com/abc"]


def test_qr_garbage_is_no_code():
    assert decode_qr(b"") == []
    assert decode_qr(b"\x89PNG not really") == []


def test_link_written_one_character_at_a_time():
    found = {(c.kind, c.detail) for c in find_contacts(normalize("登♥录♥h♥t♥t♥p♥:♥/♥/♥t♥.♥c♥n♥/♥a♥b"))}
    assert ("url", "spelled") in found


@pytest.mark.parametrize("text", ["http协议是什么", "我用www浏览", "http和https有什么区别"])
def test_talk_about_links_is_no_link(text):
    assert not [k for k in kinds(text) if k[0] == "url"]
