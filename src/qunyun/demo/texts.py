"""Message texts and nicknames for the simulator: our own templates, filled from small word lists.

A :class:`TextMaker` renders a few hundred variants of every kind of message once (seeded),
then hands them out by index: fast enough for ten million messages, varied enough to read like
a real tea-and-coffee learning group. Ads carry contact ids the way spammers write them
(加V信, full-width digits, spaced letters, short links) so moderation has something to find.
"""

from __future__ import annotations

import random
import string

TEAS = ("西湖龙井", "碧螺春", "正山小种", "大红袍", "普洱熟茶", "普洱生茶", "白毫银针", "白牡丹", "凤凰单丛",
        "铁观音", "金骏眉", "六堡茶", "祁门红茶", "武夷肉桂", "老枞水仙", "茉莉花茶", "安吉白茶", "老白茶")
COFFEES = ("耶加雪菲", "瑰夏", "曼特宁", "哥伦比亚", "肯尼亚AA", "巴西喜拉朵", "云南保山小粒", "危地马拉安提瓜",
           "日晒西达摩", "哥斯达黎加蜜处理", "卢旺达水洗")
TOOLS = ("盖碗", "紫砂壶", "公道杯", "手冲壶", "磨豆机", "V60滤杯", "爱乐压", "法压壶", "摩卡壶", "电子秤",
         "品茗杯", "冷萃瓶", "蛋糕杯", "玻璃茶壶")
FLAVORS = ("花香", "果酸", "坚果", "焦糖", "蜂蜜", "柑橘", "莓果", "兰花香", "岩韵", "回甘", "奶油感", "可可",
           "烟熏", "米汤感", "桂皮香")
PARAMS = ("水温90度", "水温85度", "水温95度", "粉水比1:15", "粉水比1:16", "闷蒸30秒", "研磨度中细", "出汤5秒",
          "第一泡快速洗茶", "注水分三段", "冷萃12小时", "投茶量5克", "20克粉配300毫升水")
SKILLS = ("注水手法", "盖碗出汤", "杯测", "闻香", "拉花", "冷萃", "焙火", "审评", "手冲控流", "分茶")
TOPICS = ("岩茶的焙火", "手冲的三段式注水", "白茶的存放", "冷萃咖啡配方", "如何做一次杯测", "茶器的选择",
          "咖啡豆的新鲜度", "春茶品鉴", "单丛的香型", "意式和手冲的区别")
CITIES = ("北京", "上海", "杭州", "深圳", "广州", "成都", "厦门", "苏州", "南京", "武汉", "西安", "重庆", "长沙",
          "福州", "昆明", "青岛")
PROCESSES = ("全发酵", "半发酵", "不发酵", "轻微发酵", "后发酵")
COFFEES_EN = ("Ethiopian Yirgacheffe", "Panama Geisha", "Sumatra Mandheling", "Kenya AA", "Colombia Huila",
              "Yunnan Catimor")
TOOLS_EN = ("gooseneck kettle", "hand grinder", "AeroPress", "V60", "French press", "Chemex")
TEAS_EN = ("Longjing", "Da Hong Pao", "raw pu-erh", "white peony", "Tieguanyin", "jasmine pearls")

QUESTIONS = (
    "请问{tea}用多少度的水泡比较合适？", "{coffee}手冲大家一般用什么粉水比？", "新手想买一个{tool}，有什么推荐吗？预算两三百",
    "有人喝过{tea}吗？值得入吗", "为什么我冲的{coffee}总是发苦，是研磨太细了吗", "{tool}和{tool2}哪个更适合新手？",
    "{tea}可以放冰箱保存吗？", "求推荐{city}好喝的咖啡馆～", "今天的{coffee}喝出了{flavor}，正常吗？",
    "请教一下，{tea}一般能泡几泡？", "有没有人知道{tea}和{tea2}的区别？", "想问下冷萃用什么豆子比较好",
    "{skill}有什么入门的视频推荐吗？", "刚开的{coffee}要养豆几天再喝？", "{tea}第一泡要倒掉吗？",
)
ANSWERS = (
    "{tea}建议{param}，{tip}", "新手的话先用{tool}，容错率高，慢慢练{skill}", "发苦多半是萃取过度，研磨调粗一点，或者{param}",
    "{tea}能泡六七泡，后面每泡多闷几秒就好", "保存要密封、避光、防潮，{tea}常温放着就行，别和有味道的东西放一起",
    "{coffee}我一般{param}，{flavor}会比较明显", "两者主要是工艺不同，{tea}是{process}，所以{flavor}更突出",
    "养豆一般5到7天，浅烘可以再久一点", "可以看看群文件里的《{skill}入门》，写得很清楚", "别急，{skill}多练几次就有手感了",
)
TIPS = ("别用沸水，会烫熟茶叶", "出汤要快", "注水沿杯壁", "先温杯", "水质影响很大，用纯净水", "多闻闻杯底香")
SHARES = (
    "今天入手了{coffee}，{flavor}味很明显，推荐！", "早上一杯{tea}，整个人都清醒了🍵", "分享一下今天的冲煮参数：{param}，{param2}，喝起来有{flavor}",
    "周末去{city}的茶山走了一圈，空气太好了", "新买的{tool}到了，颜值很高", "试了一下{skill}，比上次进步了一点点",
    "{tea}第三泡最好喝，{flavor}出来了", "下午摸鱼泡了一壶{tea}，办公室都是香的", "{city}这家店的{coffee}真的绝，下次带大家去",
    "记录一下：{coffee}，{param}，{flavor}，满分的话给8分",
)
WATER = ("哈哈哈哈", "+1", "同问", "收到", "👍", "学到了", "真的假的", "羡慕了", "太香了", "我也想喝", "蹲一个", "mark一下",
         "有道理", "早", "今天好冷啊", "下班了下班了", "摸鱼中～", "周末愉快！", "吃了吗各位", "有人在吗", "这个群好热闹",
         "冒个泡", "哈哈哈笑死", "好的好的", "666", "我来晚了", "刚看到", "🤣🤣", "确实", "懂了")
GREETINGS_MORNING = ("早上好☀️", "各位早安", "早呀～今天喝什么", "早！", "新的一天，先来一杯")
GREETINGS_NIGHT = ("晚安～", "睡了睡了，大家晚安", "今天就到这里，晚安🌙", "熬夜喝茶的举手")
RESPONSES = ("谢谢分享！", "学习了🙏", "说得对", "同感", "真不错，求链接", "这个参数我也试试", "确实，我上次也是这样", "好看！",
             "哪里买的？", "感谢老师", "收藏了", "原来如此", "我回去试试", "太有用了", "已经下单了哈哈")
WELCOMES = ("欢迎新朋友👏", "欢迎欢迎～", "欢迎加入，先看看群公告哦", "welcome!", "欢迎，有问题随时问")
INTROS = ("大家好，我是{city}的，刚开始学{skill}，请多指教🙏", "新人报到！平时喜欢喝{tea}", "Hi 各位，最近迷上了{coffee}，来学习",
          "大家好～{city}坐标，上班族，想学手冲", "新人一枚，看公众号文章进来的，喜欢{tea}")
ANNOUNCEMENTS = ("【通知】本周茶话会晚8点开始，主题：{topic}，欢迎大家参加～", "【群公告】请大家遵守群规：不发广告、不刷屏、友善交流。",
                 "【活动】本周打卡挑战开始啦，连续7天打卡送茶样一份", "【精华】{topic}的讨论整理好了，在群文件里",
                 "【团购】这周拼单{tool}，需要的接龙")
CLEANUP_NOTICE = "【提醒】下周清理长期潜水的成员，还在的请冒个泡～"
EVENT_LINES = ("来了来了", "老师讲得太清楚了", "这个问题我也想问", "能再讲一下{skill}吗", "记笔记📒", "有回放吗？", "👏👏👏",
               "原来{tea}是这样泡的", "学到了，今晚就试试", "请问{param}是固定的吗")
CHECKINS = ("打卡 Day{n}：今天练习了{skill}，{param}", "打卡 Day{n}：{tea}三泡，记录了香气变化", "打卡 Day{n}：{coffee}杯测，{flavor}")
CAPTIONS = ("", "", "", "看看我的茶席", "今天的拉花", "新到的豆子", "今日份", "这个汤色怎么样？")
LINKS = ("推荐一篇好文：《{topic}》 https://mp.weixin.qq.com/s/{code}", "B站这个视频讲{skill}讲得很清楚 https://www.bilibili.com/video/BV{code}",
         "{topic}的笔记我整理了 https://docs.qunyun.demo/n/{code}")
FILES = ("{skill}入门.pdf", "{topic}讲义.pdf", "冲煮记录表.xlsx")

EN_QUESTIONS = ("Anyone tried {coffee_en} as cold brew?", "What grind size do you use for a {tool_en}?",
                "Which {tool_en} would you recommend for a beginner?", "How many infusions do you get from {tea_en}?",
                "Is 93°C too hot for {coffee_en}?")
EN_ANSWERS = ("I usually go with a 1:16 ratio and 93°C water.", "Try a coarser grind, it fixes most bitterness.",
              "For {tea_en}, short steeps, 5-10 seconds, and add a few seconds each round.",
              "A {tool_en} is forgiving, great to start with.")
EN_SHARES = ("Just got a bag of {coffee_en}, super fruity!", "Morning {tea_en} before work, perfect start.",
             "My {tool_en} finally arrived 😍", "Tried a new recipe today: 15g, 250ml, 3 pours.")
EN_WATER = ("lol", "same here", "thanks!", "good morning everyone", "nice 👍", "+1", "haha true", "interesting",
            "good night all", "welcome!")
EN_RESPONSES = ("Thanks for sharing!", "Great tip, will try", "Agreed", "Where did you buy it?", "Looks amazing")

EMOJIS = ("👍", "👍", "👍", "❤️", "❤️", "🍵", "☕", "😂", "🙏", "🎉", "👏")

# Spam ads: {wx} a WeChat id, {qq} a QQ number, {phone} a mobile, {code} a short-link code.
ADS = (
    "招聘兼职，日结200-500，宝妈学生都可以，有意者加V信：{wx}",
    "茶叶源头厂家直销，正宗明前龙井低至5折，＋ｖ：{wx_fw}",
    "免费领取咖啡豆试喝装🎁 加 薇 {wx_spaced}",
    "返利群招人，稳赚不赔，扣扣：{qq_fw}",
    "点击领取新人红包 http://t.cn/{code} 先到先得",
    "有需要代购茶具的私我，徽信 {wx} 备注茶友",
    "手机微信同号 {phone_split}，专业做茶叶批发",
    "兼职刷单，一单一结，q q {qq_spaced}",
)
EN_ADS = (
    "Crypto signals, 500% profit in a week, DM @{tg} now",
    "Free airdrop for the first 100 people: t.me/{tg}_bot",
    "Work from home, $300/day, WhatsApp {phone_intl}",
)

_SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔向汤"
_GIVEN = ("小明", "晓东", "子涵", "一诺", "雨桐", "浩然", "梓萱", "思远", "佳怡", "俊杰", "欣怡", "子轩", "语嫣", "文博", "若曦",
          "嘉豪", "静怡", "天佑", "诗涵", "明轩", "可馨", "宇航", "欣然", "志强", "丽娜", "建华", "婷婷", "晨曦", "梦瑶", "小雨")
_ADJ = ("安静的", "爱喝茶的", "慢慢的", "不加糖的", "早起的", "迷路的", "会飞的", "想睡觉的", "快乐的", "认真的", "晒太阳的", "不熬夜的")
_NOUN = ("猫", "小鱼", "兔子", "橘子", "饼干", "鲸鱼", "云朵", "拿铁", "乌龙", "茶包", "柠檬", "豆子", "蘑菇", "月亮")
_EN = ("Mia", "Leo", "Amy", "Kevin", "Jason", "Lily", "Coco", "Tony", "Eva", "Sam", "Ivy", "Max", "Luna", "Ryan", "Zoe",
       "Ben", "Chloe", "Nina", "Oscar", "Ruby", "Jack", "Grace")
_PINYIN = ("xiaoyu", "mengmeng", "ahua", "dabao", "tiantian", "lele", "doudou", "xixi", "nannan", "yueyue")
_EMOJI_PREFIX = ("🍵", "☕", "🌿", "🍃", "🐱", "🌙", "✨", "")
_JOBS = ("设计", "程序员", "老师", "学生", "咖啡师", "产品", "运营", "会计", "医生", "律师", "宝妈", "自由职业")
LEADER_NAMES = ("茶艺师老周", "咖啡师Mia", "焙茶人阿福", "Dr. Bean", "品鉴官Lily", "评茶员小林", "烘豆师Leo", "茶人陈姐",
                "杯测师Ryan", "老茶客王叔")
STAFF_NAMES = {"owner": ("叶子（群主）", "Ye 叶子 | founder"), "admin": ("阿澄-管理", "Kevin｜管理员", "小满 mod", "群管-豆豆")}
SPAM_NAMES = ("福利小助手", "兼职招聘", "茶叶批发-厂家", "优惠券领取", "Crypto Mentor", "免费领豆", "代购小美", "返利客服")


_VOCABULARY = {
    "tea": TEAS, "tea2": TEAS, "coffee": COFFEES, "tool": TOOLS, "tool2": TOOLS, "flavor": FLAVORS, "param": PARAMS,
    "param2": PARAMS, "skill": SKILLS, "topic": TOPICS, "city": CITIES, "tip": TIPS, "process": PROCESSES,
    "coffee_en": COFFEES_EN, "tool_en": TOOLS_EN, "tea_en": TEAS_EN,
}
_FIELDS: dict[str, tuple[str, ...]] = {}


def _fields(template: str) -> tuple[str, ...]:
    names = _FIELDS.get(template)
    if names is None:
        names = _FIELDS[template] = tuple(dict.fromkeys(f for _, f, _, _ in string.Formatter().parse(template) if f))
    return names


class TextMaker:
    """Seeded pools of rendered texts; ``pick(kind, rng)`` returns one."""

    POOL = 240

    def __init__(self, seed: object) -> None:
        rng = random.Random(f"{seed}:texts")
        self._rng = rng
        render = self._render
        self.pools: dict[str, tuple[str, ...]] = {
            "question": render(QUESTIONS), "answer": render(ANSWERS), "share": render(SHARES),
            "water": WATER, "morning": GREETINGS_MORNING, "night": GREETINGS_NIGHT, "response": RESPONSES,
            "welcome": WELCOMES, "intro": render(INTROS), "announce": render(ANNOUNCEMENTS), "event": render(EVENT_LINES),
            "checkin": render(CHECKINS), "caption": CAPTIONS, "link": render(LINKS), "file": render(FILES),
            "en_question": render(EN_QUESTIONS), "en_answer": render(EN_ANSWERS), "en_share": render(EN_SHARES),
            "en_water": EN_WATER, "en_response": EN_RESPONSES, "ad": render(ADS, size=60),
            "en_ad": render(EN_ADS, size=20),
        }

    def _fill(self, template: str) -> str:
        r = self._rng
        values = {}
        for name in _fields(template):  # draw only what the template uses: rendering stays cheap
            if name in _VOCABULARY:
                values[name] = r.choice(_VOCABULARY[name])
            elif name == "n":
                values[name] = r.randint(1, 60)
            elif name == "code":
                values[name] = _code(r, 10)
            else:
                values.update(_contacts(r))
        return template.format(**values)

    def _render(self, templates: tuple[str, ...], *, size: int | None = None) -> tuple[str, ...]:
        size = size or self.POOL
        seen: dict[str, None] = {}
        for i in range(size * 3):
            seen.setdefault(self._fill(templates[i % len(templates)]), None)
            if len(seen) >= size:
                break
        return tuple(seen)

    def pick(self, kind: str, rng: random.Random) -> str:
        pool = self.pools[kind]
        return pool[int(rng.random() * len(pool))]


def _code(rng: random.Random, length: int) -> str:
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(alphabet[int(rng.random() * len(alphabet))] for _ in range(length))


_FULL_WIDTH = str.maketrans("0123456789abcdefghijklmnopqrstuvwxyz", "０１２３４５６７８９ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ")


def _contacts(rng: random.Random) -> dict[str, str]:
    wx = rng.choice(("cha", "tea", "vip", "fuli", "wx", "dou")) + str(rng.randint(1000, 99999))
    qq = str(rng.randint(10_000_000, 3_999_999_999))
    phone = "1" + rng.choice("3456789") + "".join(str(rng.randint(0, 9)) for _ in range(9))
    return {
        "wx": wx, "wx_fw": wx.translate(_FULL_WIDTH), "wx_spaced": " ".join(wx),
        "qq_fw": qq.translate(_FULL_WIDTH), "qq_spaced": " ".join(qq),
        "phone_split": f"{phone[:3]}-{phone[3:7]}-{phone[7:]}", "phone_intl": f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}", "tg": rng.choice(("profit", "airdrop", "signal")) + str(rng.randint(10, 999)),
    }


def nickname(rng: random.Random, *, english_bias: float = 0.15) -> str:
    """A plausible group nickname (Chinese, pinyin or English; some with an emoji)."""
    roll = rng.random()
    if roll < english_bias:
        name = rng.choice(_EN) + rng.choice(("", "", "_coffee", ".tea", str(rng.randint(80, 99)), " Chen", " Wang"))
    elif roll < english_bias + 0.3:
        name = rng.choice(_ADJ) + rng.choice(_NOUN)
    elif roll < english_bias + 0.55:
        name = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
    elif roll < english_bias + 0.7:
        name = rng.choice(_PINYIN) + str(rng.randint(1, 999))
    else:
        name = rng.choice(("小", "阿", "大", "老")) + rng.choice(_NOUN + ("白", "茶", "豆", "叶"))
    return rng.choice(_EMOJI_PREFIX) + name if rng.random() < 0.15 else name


def renamed(rng: random.Random, old: str) -> str:
    """A new nickname for someone who had ``old``: a group card like 杭州-小鱼-设计, or a fresh one."""
    roll = rng.random()
    if roll < 0.5:
        return f"{rng.choice(CITIES)}-{old}-{rng.choice(_JOBS)}"
    if roll < 0.7:
        return f"{old}|{rng.choice(CITIES)}"
    return nickname(rng)
