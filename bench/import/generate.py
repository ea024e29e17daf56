"""Write a synthetic Telegram Desktop export (``result.json``) of N messages, streamed to disk.

The file has the shape Telegram Desktop writes (one chat: ``name``, ``type``, ``id``,
``messages``; one-space indentation; ``date`` as the exporter's wall clock plus
``date_unixtime``) and a realistic mix: 2,000 people of whom a tenth say most things, replies,
texts with entities (bold, links, mentions), photos, stickers, voice notes, forwards, edits,
reactions with their reactors, and joins and leaves as service messages. Deterministic for a
given N and seed.

    python bench/import/generate.py 1000000 /tmp/result.json
"""

from __future__ import annotations

import json
import random
import sys
from datetime import datetime, timedelta, timezone

WORDS = ("tea green black oolong puer water leaf cup brew steep hot cold morning today shop price "
         "good great thanks anyone know where buy try taste smell sweet bitter fresh old year spring "
         "harvest 绿茶 红茶 乌龙 普洱 今天 好喝 谢谢 大家 早上好 价格 推荐 哪里 买").split()


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 24)))


def generate(path: str, count: int, *, seed: int = 7) -> None:
    """Write ``count`` messages (service messages included) to ``path``."""
    with open(path, "w", encoding="utf-8") as out:
        out.write('{\n "name": "Benchmark tea group",\n "type": "private_supergroup",\n "id": 1700000001,\n'
                  ' "messages": [\n')
        _messages(out, count, random.Random(seed), depth=2)
        out.write(" ]\n}\n")


def generate_account(path: str, count: int, *, chats: int = 12, seed: int = 7) -> None:
    """A full-account export (``chats.list``) of ``count`` messages over ``chats`` chats, one in
    three of them private (which an import counts and leaves out), as Telegram Desktop writes it."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as out:
        out.write('{\n "about": "Here is the data you requested.",\n "personal_information": {\n'
                  '  "user_id": 100000,\n  "first_name": "Member",\n  "last_name": "0"\n },\n'
                  ' "chats": {\n  "about": "chats",\n  "list": [\n')
        for number in range(chats):
            kind = "personal_chat" if number % 3 == 2 else "private_supergroup"
            out.write(f'   {{\n    "name": "Chat {number}",\n    "type": "{kind}",\n'
                      f'    "id": {1700000001 + number},\n    "messages": [\n')
            _messages(out, count // chats, rng, depth=5)
            out.write("    ]\n   }" + (",\n" if number < chats - 1 else "\n"))
        out.write('  ]\n },\n "left_chats": {\n  "about": "left",\n  "list": []\n }\n}\n')


def _messages(out, count: int, rng: random.Random, *, depth: int) -> None:
    """``count`` messages as the elements of a ``messages`` list ``depth`` levels deep."""
    people = 2000
    names = [f"Member {i}" for i in range(people)]
    start = datetime(2023, 1, 1, tzinfo=timezone.utc)
    seconds = 0
    dumps = json.JSONEncoder(ensure_ascii=False, indent=1).encode
    indent = " " * depth
    for mid in range(1, count + 1):
        seconds += rng.randint(1, 40)
        moment = start + timedelta(seconds=seconds)
        local = (moment + timedelta(hours=8)).replace(tzinfo=None).isoformat()
        # A tenth of the people write four fifths of the messages.
        who = rng.randrange(people // 10) if rng.random() < 0.8 else rng.randrange(people)
        roll = rng.random()
        m: dict = {"id": mid}
        if roll < 0.01:
            joiner = rng.randrange(people)
            m.update({"type": "service", "date": local, "date_unixtime": str(int(moment.timestamp())),
                      "actor": names[joiner], "actor_id": f"user{100000 + joiner}",
                      "action": "join_group_by_link", "inviter": names[0], "text": "", "text_entities": []})
        elif roll < 0.015:
            leaver = rng.randrange(people)
            m.update({"type": "service", "date": local, "date_unixtime": str(int(moment.timestamp())),
                      "actor": names[leaver], "actor_id": f"user{100000 + leaver}",
                      "action": "remove_members", "members": [names[leaver]], "text": "", "text_entities": []})
        else:
            m.update({"type": "message", "date": local, "date_unixtime": str(int(moment.timestamp())),
                      "from": names[who], "from_id": f"user{100000 + who}"})
            if rng.random() < 0.15 and mid > 1:
                m["reply_to_message_id"] = mid - rng.randint(1, min(mid - 1, 50))
            if rng.random() < 0.02:
                m["forwarded_from"] = "Tea news"
            media = rng.random()
            if media < 0.04:
                m.update({"photo": f"photos/photo_{mid}.jpg", "width": 1280, "height": 960})
            elif media < 0.06:
                m.update({"file": "(File not included. Change data exporting settings to download.)",
                          "media_type": "sticker", "sticker_emoji": "🍵", "width": 512, "height": 512})
            elif media < 0.07:
                m.update({"file": "(File not included. Change data exporting settings to download.)",
                          "media_type": "voice_message", "mime_type": "audio/ogg", "duration_seconds": 7})
            if rng.random() < 0.08:
                friend = rng.randrange(people)
                parts = [{"type": "bold", "text": "Note"}, " " + _text(rng) + " ",
                         {"type": "mention_name", "text": names[friend], "user_id": 100000 + friend},
                         " ", {"type": "link", "text": "https://tea.example/p/%d" % mid}]
                m["text"] = parts
                m["text_entities"] = [p if isinstance(p, dict) else {"type": "plain", "text": p} for p in parts]
            elif "photo" in m or "media_type" in m:
                m["text"] = ""
                m["text_entities"] = []
            else:
                text = _text(rng)
                m["text"] = text
                m["text_entities"] = [{"type": "plain", "text": text}]
            if rng.random() < 0.03:
                edited = moment + timedelta(seconds=rng.randint(5, 600))
                m["edited"] = (edited + timedelta(hours=8)).replace(tzinfo=None).isoformat()
                m["edited_unixtime"] = str(int(edited.timestamp()))
            if rng.random() < 0.05:
                reactors = rng.sample(range(people // 10), rng.randint(1, 3))
                m["reactions"] = [{"type": "emoji", "count": len(reactors), "emoji": "👍", "recent": [
                    {"from": names[r], "from_id": f"user{100000 + r}",
                     "date": (moment + timedelta(hours=8, seconds=30 + i)).replace(tzinfo=None).isoformat()}
                    for i, r in enumerate(reactors)]}]
        text = dumps(m)
        out.write(indent + text.replace("\n", "\n" + indent))
        out.write(",\n" if mid < count else "\n")


if __name__ == "__main__":
    generate(sys.argv[2], int(sys.argv[1]))
