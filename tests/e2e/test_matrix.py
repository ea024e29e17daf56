"""The bot live on a real Matrix homeserver, set up only with the documented commands.

``qunyun community create``, ``qunyun connect matrix``, ``qunyun onboarding …`` and ``qunyun
serve`` run as subprocesses, exactly as an operator would run them; members are played by real
Matrix accounts on a throwaway Synapse.
"""

from __future__ import annotations

import json
import sqlite3
import time

import httpx
import pytest

from .synapse import wait_for

pytestmark = pytest.mark.slow

AD = "加我微信 abc12345 便宜代购"


def bot_messages(user, room, bot_id):
    return [e for e in user.messages(room) if e["type"] == "m.room.message" and e["sender"] == bot_id]


def power_changes(user, room, bot_id, member):
    """(time, member's level) of the bot's power-level changes, once a mute and its end are both there."""
    changes = [(e["origin_server_ts"], e["content"].get("users", {}).get(member))
               for e in reversed(user.messages(room)) if e["type"] == "m.room.power_levels" and e["sender"] == bot_id]
    return changes if len(changes) >= 2 else None


def db(app):
    conn = sqlite3.connect(app.home / "qunyun.sqlite3", timeout=30)
    conn.row_factory = sqlite3.Row
    return conn


def connection_state(app) -> dict:
    with db(app) as conn:
        row = conn.execute("SELECT state, status FROM qunyun_connection WHERE platform = 'matrix'").fetchone()
    return {**json.loads(row["state"] or "{}"), "_status": row["status"]}


def test_the_bot_welcomes_guards_screens_and_handles_a_replay_once(synapse, qunyun_home):
    app = qunyun_home
    owner = synapse.register("owner", "owner-pass-1")
    bot = synapse.register("qunyun", "bot-pass-12", admin=False)
    alice = synapse.register("alice", "alice-pass-1")
    spammer = synapse.register("spammer", "spam-pass-1")
    bob = synapse.register("bob", "bob-pass-12")
    carol = synapse.register("carol", "carol-pass-1")
    lounge = owner.create_room("Tea Lounge", power={bot.user_id: 100}, invite=[bot.user_id])
    gate = owner.create_room("Tea Gate", power={bot.user_id: 100}, invite=[bot.user_id])

    app.run("community", "create", "tea", "--name", "Tea lovers", "--rules", "1. Be kind. 2. No ads.")
    app.run("connect", "matrix", "--community", "tea", "--homeserver", synapse.url, "--user-id", "@qunyun:localhost",
            "--password", "bot-pass-12")
    app.run("onboarding", "route", "--community", "tea", "--channel", "wechat", "--channel-name", "WeChat article",
            "--group", f"matrix:{lounge}", "--group-name", "Tea Lounge")
    app.run("onboarding", "welcome", "--community", "tea", "--channel", "wechat",
            "--text", "Welcome {name}! You found us through {channel}. Rules: {rules_link}")
    app.run("onboarding", "welcome", "--community", "tea", "--text", "Welcome {name} to {group}!")
    app.run("onboarding", "guard", "--community", "tea", "--on", "--mute-seconds", "3")
    app.run("onboarding", "route", "--community", "tea", "--channel", "gate", "--group", f"matrix:{gate}",
            "--group-name", "Tea Gate")
    app.run("onboarding", "screening", "--community", "tea", "--group", f"matrix:{gate}", "--on",
            "--question", "What do we drink here?", "--answer", "tea", "--timeout", "3")
    listed = app.run("connections", "list")
    assert "bot-pass-12" not in listed and "stored (encrypted)" in listed

    app.serve()
    wait_for(lambda: owner.members(lounge).get(bot.user_id) == "join" and owner.members(gate).get(bot.user_id) == "join",
             what="the bot to accept both invitations")
    wait_for(lambda: connection_state(app)["_status"] == "connected", what="the connection to be live")
    assert "connected" in app.run("connections", "list")
    before_alice = connection_state(app)["since"]

    # 1. A member joins through a channel's link and gets that channel's welcome.
    page = httpx.post(f"{app.url}/j/tea/wechat/", data={"account": alice.user_id})
    assert page.status_code == 302 and page.headers["location"] == f"https://matrix.to/#/{lounge}"
    wait_for(lambda: alice.http.get("/sync", params={"timeout": 0}).json().get("rooms", {}).get("invite", {})
             .get(lounge), what="the bot's invitation to reach alice")
    alice.join(lounge)
    welcome = wait_for(lambda: [m for m in bot_messages(owner, lounge, bot.user_id)
                                if "WeChat article" in m["content"]["body"]], what="alice's welcome")
    assert welcome[0]["content"]["body"].startswith("Welcome alice! You found us through WeChat article.")
    assert f"{app.url}/r/tea/" in welcome[0]["content"]["body"]
    assert welcome[0]["content"]["m.mentions"] == {"user_ids": [alice.user_id]}

    # 2. An ad with a contact id is redacted and its author muted; the mute ends after 3 s.
    owner.invite(lounge, spammer.user_id)
    spammer.join(lounge)
    wait_for(lambda: [m for m in bot_messages(owner, lounge, bot.user_id) if m["content"]["body"] ==
                      "Welcome spammer to Tea Lounge!"], what="the default welcome (no channel)")
    ad = spammer.send(lounge, AD).json()["event_id"]
    wait_for(lambda: owner.event(lounge, ad)["content"] == {}, what="the ad to be redacted")
    if spammer.user_id in owner.power_levels(lounge)["users"]:  # still muted: speaking is refused
        refused = spammer.send(lounge, "still here?").status_code == 403
        assert refused or spammer.user_id not in owner.power_levels(lounge)["users"]
    changes = wait_for(lambda: power_changes(owner, lounge, bot.user_id, spammer.user_id), timeout=20,
                       what="the mute and its end")
    (muted_at, level), (unmuted_at, after) = changes
    assert level < 0 and after is None
    assert 2.5 <= (unmuted_at - muted_at) / 1000 <= 10
    assert spammer.send(lounge, "ok, I will behave").status_code == 200

    # 3. Screening: bob does not answer and is removed; carol answers and stays.
    owner.invite(gate, bob.user_id)
    owner.invite(gate, carol.user_id)
    bob.join(gate)
    carol.join(gate)
    wait_for(lambda: len([m for m in bot_messages(owner, gate, bot.user_id)
                          if "What do we drink here?" in m["content"]["body"]]) == 2, what="the screening questions")
    assert carol.send(gate, "Tea, of course").status_code == 200
    wait_for(lambda: owner.members(gate).get(bob.user_id) == "leave", timeout=20, what="bob to be removed")
    time.sleep(2)
    assert owner.members(gate).get(carol.user_id) == "join"

    # 4. The same events delivered again (sync replayed from before alice joined) are handled once.
    app.stop()
    with db(app) as conn:
        row = conn.execute("SELECT state FROM qunyun_connection WHERE platform = 'matrix'").fetchone()
        state = {**json.loads(row["state"]), "since": before_alice}
        conn.execute("UPDATE qunyun_connection SET state = ? WHERE platform = 'matrix'", [json.dumps(state)])
    app.serve()
    wait_for(lambda: connection_state(app)["since"] != before_alice, what="the replayed sync")
    time.sleep(3)
    bodies = [m["content"].get("body", "") for m in bot_messages(owner, lounge, bot.user_id)]
    assert sum("WeChat article" in b for b in bodies) == 1
    assert sum(b == "Welcome spammer to Tea Lounge!" for b in bodies) == 1
    with db(app) as conn:
        deletes = conn.execute("SELECT count(*) FROM qunyun_outbox WHERE kind = 'delete' AND chat = ?",
                               [f"matrix:{lounge}"]).fetchone()[0]
        mutes = conn.execute("SELECT count(*) FROM qunyun_outbox WHERE kind = 'mute' AND chat = ?",
                             [f"matrix:{lounge}"]).fetchone()[0]
        assert (deletes, mutes) == (1, 1)  # the ad: deleted once (by moderation) and muted once (by the guard)
        statuses = {r[0] for r in conn.execute(
            "SELECT status FROM qunyun_outbox WHERE chat LIKE 'matrix:%' AND kind IN "
            "('send', 'delete', 'mute', 'unmute', 'kick')")}
    assert statuses <= {"done", "cancelled"}, app.log()
