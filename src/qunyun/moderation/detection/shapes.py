"""Ad shapes: what an advert looks like, independent of what it sells.

Each detector is a regular expression over the *compact* view of a normalized message (or the
folded view for English, where word boundaries matter). None of them reaches the review
threshold alone; an advert shows two or three of them, or one of them with a contact id or a
sales word from the lexicon, and noisy-OR adds them up.

| detector | what |
|---|---|
| ``shape.call_to_action`` | a call to get in touch privately: 需要的老板滴滴, 有意者私聊, 要的来, 有材料的私 |
| ``shape.offer`` | a sales word or a trade with a number: 低价, 批发, 出号 100, 1比400, 4折出 |
| ``shape.trade`` | a trade verb on virtual goods: 出元宝, 收银子, 卖喇叭, 出字, 100万银子100出 |
| ``shape.rmt`` | real money for virtual goods: 1元八万钻, 50=10万钻, 1:12000, 70出1800 |
| ``shape.price`` | a price or quantity, only when another spam signal is present (stronger next to a trade) |
| ``shape.promo_price`` | a promoted price: 原价…现…, 仅需98元, 低至3折 |
| ``shape.goods`` | virtual goods named next to a call to action (需要喇叭的滴滴), or a trade listing several goods |
| ``shape.quantity`` | a quantity of goods (400万银, 63个喇叭), only when another spam signal is present |
| ``shape.link_push`` | a link with check/visit/click… or 点击/领取/下载… |
| ``shape.sms_cta`` | txt WIN to 80086, reply STOP, claim your £1000 |
| ``shape.income_claim`` | I made $3000, $500 a day |
| ``shape.water`` | a short content-free message (哈哈哈哈, 666) — category ``water`` |
"""

from __future__ import annotations

import re
from typing import Any

import ahocorasick_rs

from .findings import Evidence, Finding

__all__ = ["shape_findings", "water_finding", "WEIGHTS"]

#: Strength of each shape (documented in docs/moderation.md). Chosen on the development
#: splits only (bench/moderation/dev.py), never on the test sets.
WEIGHTS = {
    "shape.call_to_action": 0.45,
    "shape.offer": 0.35,
    "shape.trade": 0.4,
    "shape.rmt": 0.6,
    "shape.price": 0.2,
    "shape.trade_price": 0.4,
    "shape.quantity": 0.2,
    "shape.goods": 0.3,
    "shape.promo_price": 0.35,
    "shape.link_push": 0.35,
    "shape.sms_cta": 0.55,
    "shape.income_claim": 0.45,
}

# A trade verb right before virtual goods or game currency: the other half of a game-chat
# advert ("出元宝", "收银子", "卖喇叭", "出字"). Single-character goods (字 号 银 钻 丹) only
# count glued to the verb and not followed by a character that makes an everyday word
# (出字幕, 收银台, 出号码).
_GOODS = (
    r"元宝|银子|银两|金币|金条|钻石|点券|点卷|储备|储蓄|喇叭|礼包|道具|时装|坐骑|装备|账号|游戏币|q币|"
    r"皮肤|魂石|龙魂|粮草|粮食|宝石|材料|物资|资源|信物|比例|yb|yxb|yin子|yinzi|改名卡|更名卡|染色|碎片|月卡|因子"
)
_PRICE_RE = re.compile(r"\d+(?:元|块|rmb|万|亿|w)|[¥$£€]\d+|\d+(?:%|折)|(?<!\d)1比\d{2,}|\d+(?:一|1)个")
# A call to get in touch privately ("需要的老板滴滴", "有意者私聊", "感兴趣的加我", "要的来",
# "有材料的私"): who is addressed (those who want it), then the private channel.
_CTA_RE = re.compile(
    r"(?:要的|要得|yao的|需要|有需要|有意|感兴趣|想要|想赚钱|懂的|老板|有材料|诚心|有货|有卖的|卖的|有收的|有出的|有的)"
    r"(?:的|得|者)?(?:老板|朋友|宝宝|亲|们)?"
    r"(?:可以|请|速度|快|直接|抓紧|赶紧|再)?"
    r"(?:滴+|嘀+|dd+|私聊|私信|私我|私密|私|密我?|[加嘉]我|[加嘉]好友|联系|咨询|找我|m+我?|米我?|咪|戳我|v我|扣我|扣1|回1|来撩|来找|速来|来(?![自的了过去说看玩啊吧呀呢吗])|$)"
    r"|(?:滴滴|密)我|(?:来|找)老板|老板(?:来|速来)|联系详谈|私聊详谈|详谈"
    # "要银子的速度联系", "需要元宝的老板私聊": who wants what, then the private channel
    r"|(?:要|需要|想要)[^的]{1,8}的(?:老板|朋友)?(?:请|速度|快|直接)?(?:滴滴|嘀嘀|私聊|私信|私我|联系|密我|mm|m我)"
    # asking for buyers: "有没有要的", "有没有要储备的", "有要的吗"
    r"|有没有(?:人)?要[^的]{0,6}的|有要[^的]{0,4}的(?:吗|没|嘛|么)"
    # goods, then the private channel: "储备滴滴", "银子私聊"
    rf"|(?:{_GOODS}|字|银)的?(?:滴滴|嘀嘀|私聊|密我|mm)"
)
_OFFER_RE = re.compile(
    # (sales words that are also lexicon terms — 出售, 代理, 兼职 … — are left to the lexicon,
    # so one word is not counted twice)
    r"(?:便宜|大量|长期|诚招|专业|包过|代做|代写|代发)"
    # a discount on a trade: "4折出储备", "3折收", "半价出"
    r"|(?:[\d一二三四五六七八九](?:\.\d)?折|半价|低价|便宜)(?:出|收|卖|甩|转)|(?:出|收|卖)[^折]{0,6}[\d一二三四五六七八九]折"
)
# 出/卖/收 + a number is a trade ("出号 100", "收金币 5万") — but not in everyday compounds
# (收到 received, 出门 go out, 出汤 pour the tea …) nor when the number counts time or measure
# ("出汤5秒", "收到2条", "出门5分钟").
_OFFER_NUM_RE = re.compile(
    r"(?:出|卖|收)(?!到|藏|获|入|拾|听|看|尾|门|汤|来|去|现|发|差|生|院|国|版|席|场|题|错|力|水|色|众|集|益)"
    r"[^,，。!！?？\d]{0,4}\d+(?![\d.]|\s*(?:秒|分|小时|天|次|遍|岁|年|月|日|点|度|克|g|ml|毫升|℃|条|泡|人))"
    r"|\d比\d"
)
_TRADE_RE = re.compile(
    rf"(?:出售|出|卖|售|收购|收|回收|换|甩|转让)(?:大量|各种|一批|点|些)?(?:{_GOODS})"
    r"|(?:出|卖|收)(?:字|号|银|钻|丹|图)(?![幕码台行杏河线子到])|(?:出|卖|收)zi(?![a-z])"
    # the goods first, the verb last: "100万银子100出", "1万元宝不绑定的50出了"
    rf"|(?:{_GOODS})[^出卖收]{{0,8}}(?:出售|出|卖|甩)(?!到|来|去|现|门|发|生|差|色|错|力|名|场|口|席|版|院|国|不|没|问)"
    # a quantity between the verb and the goods: "出1800元宝", "出20万银", "出1700yb"
    rf"|(?:出售|出|卖|收|甩)[\d.]+(?:[万w亿千k个颗张组]\d*){{0,2}}(?:{_GOODS}|字|银|钻|喇叭)"
)
_GOODS_RE = re.compile(_GOODS)
# Chinese numerals as digits, one character for one (十 and 拾 as 1: "二十万" reads "21万",
# wrong as a number but right as "a number before 万", which is all the patterns ask).
_NUMERALS = str.maketrans("零〇一壹幺二贰两三叁四肆五伍六陆七柒八捌九玖十拾玲衣尔伞寺溜扒",
                          "00" "111" "222" "33" "44" "55" "66" "77" "88" "99" "11" "0123468")
# (with the homophones spammers use for digits, 玲衣尔伞寺溜扒, but only in runs of two or more)
# Where a rate may hide: digits spaced apart ("1*0*0*=") or numerals next to the sign ("衣玲玲=").
_HIDDEN_RATE_GATE_RE = re.compile(
    r"\d[^\w:;=]{1,3}\d|[零〇一壹二贰两三叁四肆五伍六陆七柒八捌九玖玲衣尔伞寺溜扒][:;=]|[:;=][零〇一壹二贰两三叁四肆五伍六陆七柒八捌九玖玲衣尔伞寺溜扒]"
)
_CN_NUMBER_RE = re.compile(
    "[零〇一壹幺二贰两三叁四肆五伍六陆七柒八捌九玖十拾百千]+(?:元|块|万|折|个|w)"
    "|[零〇一壹二贰两三叁四肆五伍六陆七柒八捌九玖十拾玲衣尔伞寺溜扒]{2,}(?:元|块|万|折|个|w)"
    # rates and trades spelled in numerals: "一比二零零零零", "衣伍玲玲玲比衣", "一二二出一一一"
    "|[零〇一壹二贰两三叁四肆五伍六陆七柒八捌九玖玲衣尔伞寺溜扒]+比[零〇一壹二贰两三叁四肆五伍六陆七柒八捌九玖玲衣尔伞寺溜扒]{1,}"
    "|[零〇一壹二贰两三叁四肆五伍六陆七柒八捌九玖玲衣尔伞寺溜扒]{2,}出[零〇一壹二贰两三叁四肆五伍六陆七柒八捌九玖玲衣尔伞寺溜扒]{3,}"
    # a promoted price in numerals: "原价玖捌", "才叁玖"
    "|(?:原价|现价|仅需|只需|低至|仅售)[一壹二贰两三叁四肆五伍六陆七柒八捌九玖]"
)
# A promoted price: "原价23800元现18800元", "仅需98元", "低至3折", "仅售¥4888".
_PROMO_RE = re.compile(
    r"(?:原价|现价|仅需|只需|低至|特价|优惠价|团购价|秒杀价|仅售|只要|仅)[¥]?\d"
    # property pushes: "36万/套起", "交2万抵4万", "买一层送一层", "9600元起"
    r"|\d万?(?:元)?套?起(?!来|床|飞|步)|交\d+万?抵\d|[买购]\d+[层间]?送\d"
)
# A quantity of goods ("400万银", "55万银子", "63个喇叭"): ordinary players say it too, so it
# counts only next to another spam signal, like a price.
_QUANTITY_RE = re.compile(rf"\d(?:万|w|亿|千|k|个)(?:{_GOODS}|银|钻|字)")
# Real money for virtual goods, the signature of game-currency sellers: "1元八万钻",
# "50元=10万钻", "30=50w", "1比400".
_RMT_RE = re.compile(
    r"\d+(?:元|块|rmb)[\d一二三四五六七八九十两]+(?:万|w|千|k)|(?<!\d)1比\d{2,}"
    # "70出1800储备": so much money for so many goods
    r"|\d+出\d{3,}"
)
# The same on the folded view, where ":" and "=" survive: "1:12000", "100=9000", "30=50w" (a
# clock time such as 12:30 has too few digits after the colon).
_RATE_RE = re.compile(
    r"(?<![\d.:;])\d{1,5}\s*(?:元|块|rmb)?\s*[:;=]\s*(?:\d{3,}|\d+(?:\.\d+)?\s*(?:万|w|千|k|亿))(?![\d:;])"
)
# Rates hidden by spacing every character ("1*0*0*=*1*6*0*w") or spelled in numerals
# ("衣玲玲=衣溜玲万"): the rate pattern reads a view without the other separators, numerals as digits.
_RATE_STRIP_RE = re.compile(r"[^\w:;=]|_")


def _rate_hidden(folded: str) -> tuple[int, int] | None:
    """The span in ``folded`` of a rate that only shows once separators and numerals are undone."""
    kept = [i for i, ch in enumerate(folded) if not _RATE_STRIP_RE.match(ch)]
    view = "".join(folded[i] for i in kept).translate(_NUMERALS)
    m = _RATE_RE.search(view)
    if m is None or view == folded:
        return None
    return kept[m.start()], kept[m.end() - 1] + 1


# An English link with an imperative around it: "check out …", "visit …", "click …".
_LINK_PUSH_RE = re.compile(r"\b(?:check|visit|click|go to|watch|join|download|sign up|register|buy|order|shop)\b")
_LINK_PUSH_ZH_RE = re.compile(r"点击|戳|复制|打开|进入|访问|登录|注册|下载|领取")
# English income claims: "I made $3000 this week", "earn $500 a day".
_INCOME_RE = re.compile(
    r"\b(?:i|we|you can|you will)\s+(?:made|make|earned|earn)\s+[$£€]?\s?\d|[$£€]\s?\d[\d,]*\s*(?:a|per|/)\s*(?:day|week|hour)"
)
# English SMS / comment spam: "txt WIN to 80086", "reply STOP", "call 0906…", "claim your £".
_EN_CTA_RE = re.compile(
    r"\b(?:(?:txt|text|send|sms)\s+\w+\s+to\s+\d{4,6}|reply\s+(?:yes|stop|win|now)\b|call\s+(?:now\s+)?(?:on\s+)?\+?\d{9,}"
    r"|claim\s+(?:your|a|now)|[£$€]\s?\d{2,}[\d,]*\s+(?:cash|prize|award|bonus|reward)|(?:cash|prize|award)\s+(?:of\s+)?[£$€]\s?\d+)"
)
# Cue words: every match of the Chinese patterns above contains one of its pattern's cues, so
# one Aho-Corasick pass over the message decides which patterns are worth running (most chat
# has none, and three regular-expression searches cost more than the pass).
_CUE_CTA, _CUE_OFFER, _CUE_TRADE, _CUE_PROMO, _CUE_NUMBER = 1, 2, 4, 8, 16
_CUES = {
    _CUE_CTA: "有没有 有要 要的 要得 yao的 需要 有意 感兴趣 想要 想赚钱 懂的 老板 有材料 诚心 有货 卖的 收的 出的 有的 "
    "滴滴 嘀嘀 密我 详谈 私聊 私信 私我 联系 mm m我",
    _CUE_OFFER: "便宜 大量 长期 诚招 专业 包过 代做 代写 代发 半价 低价 折",
    _CUE_PROMO: "原价 现价 仅需 只需 低至 特价 优惠价 团购价 秒杀价 仅售 只要 仅 "
    + " ".join([d + "起" for d in "0123456789万元套"] + [d + "抵" for d in "0123456789万"] + ["送" + d for d in "0123456789"]),
    # a number in Chinese numerals (or digit homophones) before a unit: the gate of _CN_NUMBER_RE
    _CUE_NUMBER: " ".join(
        [n + u for n in "零〇一壹幺二贰两三叁四肆五伍六陆七柒八捌九玖十拾百千玲衣尔伞寺溜扒" for u in "元块万折个w比出"]
        + [p + n for p in ("原价", "现价", "仅需", "只需", "低至", "仅售") for n in "一壹二贰两三叁四肆五伍六陆七柒八捌九玖"]
    ),
    _CUE_TRADE: " ".join(_GOODS.split("|") + [v + g for v in "出卖收" for g in ("字", "号", "银", "钻", "丹", "图", "zi")]),
}
_CUE_WORDS = [w for words in _CUES.values() for w in words.split()]
_CUE_BITS = [bit for bit, words in _CUES.items() for _ in words.split()]
_CUE_AC = ahocorasick_rs.AhoCorasick(_CUE_WORDS, matchkind=ahocorasick_rs.MatchKind.Standard)
_GOODS_CUES = frozenset(i for i, w in enumerate(_CUE_WORDS) if _CUE_BITS[i] == _CUE_TRADE and w in _GOODS.split("|"))


def _cues(compact_text: str) -> tuple[int, int]:
    """The cue bits found, and how many different goods words (a list of goods is a listing)."""
    bits = 0
    goods = None
    for idx, _start, _end in _CUE_AC.find_matches_as_indexes(compact_text, overlapping=True):
        bits |= _CUE_BITS[idx]
        if idx in _GOODS_CUES:
            if goods is None:
                goods = {idx}
            else:
                goods.add(idx)
    return bits, (len(goods) if goods else 0)


_EN_GATE_RE = re.compile(r"claim|reply|[£$€]")
_WATER_RE = re.compile(r"(.)\1{3,}|顶+|签到|路过|冒泡|\+1|666+|hh+|哈+")


def shape_findings(norm: Any, text: str, findings: list[Finding], has_url: bool) -> None:
    """Append the ad-shape findings of a normalized message to ``findings``.

    ``findings`` already holds the contact and lexicon findings: ``shape.price`` only counts
    next to them (a price alone is ordinary chat), and an offer spelled with a lexicon word
    is not counted twice.
    """
    c = norm.compact
    folded = norm.folded
    ascii_only = folded.isascii()
    trade = cta = False
    cues = n_goods = 0
    has_digit = norm.has_digit()
    d = c  # the view the number patterns read
    if not ascii_only:
        cues, n_goods = _cues(c)
        if cues & _CUE_NUMBER and _CN_NUMBER_RE.search(c) is not None:
            # "一元八万钻", "四折出": numbers in Chinese numerals (one character each, so spans hold)
            d = c.translate(_NUMERALS)
            has_digit = True
    if not ascii_only:  # the Chinese ad shapes need Chinese words
        m = _CTA_RE.search(c) if cues & _CUE_CTA else None
        cta = m is not None
        if m:
            findings.append(_shape("shape.call_to_action", "asks to be contacted", norm, m.span()))
        m = _OFFER_RE.search(c) if cues & _CUE_OFFER else None
        if m is None and has_digit and _may_offer_num(c):
            m = _OFFER_NUM_RE.search(d)
        if m:
            findings.append(_shape("shape.offer", "offers something", norm, m.span()))
        m = _TRADE_RE.search(d) if cues & _CUE_TRADE else None
        trade = m is not None
        if m:
            findings.append(_shape("shape.trade", "trades virtual goods", norm, m.span()))
            if n_goods >= 2:  # "出银，元宝，五色": a price list, not a remark
                g = _GOODS_RE.search(c, m.end()) or _GOODS_RE.search(c)
                if g:
                    findings.append(_shape("shape.goods", "lists goods for sale", norm, g.span()))
        elif cta and cues & _CUE_TRADE:
            # "需要喇叭的滴滴", "改名卡喇叭时装要的mmm": goods named next to a call to action
            m = _GOODS_RE.search(c)
            if m:
                findings.append(_shape("shape.goods", "names goods next to a call to action", norm, m.span()))
    elif has_digit and _may_offer_num(c):
        m = _OFFER_NUM_RE.search(c)
        if m:
            findings.append(_shape("shape.offer", "offers something", norm, m.span()))
    if cues & _CUE_PROMO and has_digit:
        m = _PROMO_RE.search(d)
        if m:
            findings.append(_shape("shape.promo_price", "promoted price", norm, m.span()))
    m = None
    if has_digit and ("元" in c or "块" in c or "rmb" in c or "比" in c or "出" in c):
        m = _RMT_RE.search(d)
        if m:
            findings.append(_shape("shape.rmt", "real money for virtual goods", norm, m.span()))
    if m is None and not ascii_only and (":" in folded or "=" in folded or ";" in folded):
        m = _RATE_RE.search(folded) if has_digit else None
        if m:
            findings.append(_folded("shape.rmt", "exchange rate", "exchange rate", norm, text, m))
        elif d is not c or _HIDDEN_RATE_GATE_RE.search(folded):
            span = _rate_hidden(folded)
            if span is not None:
                findings.append(_folded_span("shape.rmt", "exchange rate (hidden)", "exchange rate", norm, text, span))
    if (ascii_only or "£" in folded) and (has_digit or _EN_GATE_RE.search(folded)):
        m = _EN_CTA_RE.search(folded)
        if m:
            findings.append(_folded("shape.sms_cta", "premium-rate call to action", "call to action", norm, text, m))
    if has_url:
        if ascii_only:
            m = _LINK_PUSH_RE.search(folded)
            if m:
                findings.append(_folded("shape.link_push", "pushes a link", "link push", norm, text, m))
        else:
            m = _LINK_PUSH_ZH_RE.search(c)
            if m:
                findings.append(_shape("shape.link_push", "pushes a link", norm, m.span()))
    if ascii_only and ("$" in folded or "£" in folded or "€" in folded or "made" in folded or "earn" in folded):
        m = _INCOME_RE.search(folded)
        if m:
            findings.append(_folded("shape.income_claim", "income claim", "income claim", norm, text, m))
    for f in findings:
        if f.score >= 0.25 and f.category.startswith("spam"):
            m = _QUANTITY_RE.search(d) if cues & _CUE_TRADE else None
            if m:
                findings.append(_shape("shape.quantity", "quantity of goods", norm, m.span()))
            m = _PRICE_RE.search(d)
            if m:
                # Goods for a price is the whole advert in two words ("出银两110万50块"): the two
                # together weigh more than each alone.
                if trade:
                    findings.append(_shape("shape.price", "price of traded goods", norm, m.span(), WEIGHTS["shape.trade_price"]))
                else:
                    findings.append(_shape("shape.price", "price or quantity", norm, m.span()))
            break


def _may_offer_num(c: str) -> bool:
    # Every match of _OFFER_NUM_RE holds one of these characters (checked before the search,
    # which is slow on digits).
    return "出" in c or "卖" in c or "收" in c or "比" in c or ":" in c or "=" in c


def water_finding(compact_text: str) -> Finding | None:
    """A short content-free message (哈哈哈哈, 666, 顶) is ``water``."""
    if 0 < len(compact_text) <= 8 and _WATER_RE.fullmatch(compact_text):
        return Finding("water", 0.7, "shape.water", "content-free message")
    return None


def _shape(detector: str, reason: str, norm: Any, span: tuple[int, int], weight: float | None = None) -> Finding:
    """A spam finding on a span of the compact view (mapped to the original on demand)."""
    score = WEIGHTS[detector] if weight is None else weight
    return Finding("spam", score, detector, reason, pending=(norm, ((span[0], span[1], detector.partition(".")[2]),)))


def _folded_span(detector: str, reason: str, note: str, norm: Any, text: str, span: tuple[int, int]) -> Finding:
    """A spam finding on a span of the folded view."""
    s, e = norm.original_span_folded(*span)
    return Finding("spam", WEIGHTS[detector], detector, reason, (Evidence(s, e, text[s:e], note),))


def _folded(detector: str, reason: str, note: str, norm: Any, text: str, m: re.Match) -> Finding:
    """A spam finding on a match in the folded view."""
    return _folded_span(detector, reason, note, norm, text, m.span())
