"""The columnar half of the analytics benchmark: the dashboard's figures with DuckDB over Parquet.

    python bench/analytics/columnar.py --sqlite bench/out/analytics/bench-….sqlite3 --from DAY --to DAY

Exports the benchmark community's tables (events without their texts, members, memberships) from
the SQLite file to Parquet once (kept next to it), then computes the same figures the dashboard
reads from the rollups — straight from the events, no rollups — with the definitions of
docs/metrics.md, and prints one JSON line with the times and the figures (run.py compares them
with the database's). Needs the bench extra: pip install -e '.[bench]'.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

TZ = "Asia/Shanghai"
LAYER = {"window_days": 30, "core_min_active_days": 12, "core_min_messages": 30, "core_min_replies": 10,
         "active_min_active_days": 4}


def connect():
    import duckdb

    try:
        import duckdb_extensions

        duckdb_extensions.import_extension("sqlite_scanner")
    except Exception:  # noqa: BLE001 - already installed, or not needed (Parquet files exist)
        pass
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


def export(con, sqlite_path: Path, folder: Path) -> float:
    """Write events.parquet, members.parquet, memberships.parquet (once); returns the seconds it took."""
    marker = folder / "complete"
    if marker.exists():
        return float(marker.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    con.execute("LOAD sqlite_scanner")
    con.execute(f"ATTACH '{sqlite_path}' AS src (TYPE sqlite, READ_ONLY)")
    cid = con.execute("SELECT id FROM src.qunyun_community WHERE slug = 'big'").fetchone()[0]
    con.execute(f"""COPY (SELECT id, group_id, member_id, type, kind, CAST("at" AS TIMESTAMPTZ) AS ts,
        CAST(day AS DATE) AS day, reply_to_member_id, channel_id, actor_id FROM src.qunyun_event
        WHERE community_id = {cid} ORDER BY ts)
        TO '{folder / 'events.parquet'}' (FORMAT parquet)""")
    con.execute(f"""COPY (SELECT id, CAST(is_bot AS BOOLEAN) AS is_bot, channel_id, display_name FROM src.qunyun_member WHERE community_id = {cid})
        TO '{folder / 'members.parquet'}' (FORMAT parquet)""")
    con.execute(f"""COPY (SELECT ms.group_id, ms.member_id, CAST(ms.is_member AS BOOLEAN) AS is_member FROM src.qunyun_membership ms
        JOIN src.qunyun_group g ON g.id = ms.group_id WHERE g.community_id = {cid})
        TO '{folder / 'memberships.parquet'}' (FORMAT parquet)""")
    con.execute("DETACH src")
    seconds = time.perf_counter() - started
    marker.write_text(f"{seconds:.1f}")
    return seconds


def figures(con, folder: Path, start: date, end: date) -> dict:
    """The dashboard's figures, from the Parquet files (a fresh pass over the events each time)."""
    q = con.execute
    q(f"CREATE OR REPLACE TEMP VIEW members AS SELECT * FROM '{folder / 'members.parquet'}'")
    q(f"CREATE OR REPLACE TEMP VIEW memberships AS SELECT * FROM '{folder / 'memberships.parquet'}'")
    # Activity of members (not bots): messages that are not system lines, and reactions.
    q(f"""CREATE OR REPLACE TEMP TABLE act AS SELECT e.member_id, e.group_id, e.day, e.type = 'message' AS is_msg,
          e.reply_to_member_id IS NOT NULL AND e.reply_to_member_id <> e.member_id AS is_reply,
          hour(timezone('{TZ}', e.ts)) AS hour
        FROM '{folder / 'events.parquet'}' e JOIN members m ON m.id = e.member_id
        WHERE NOT m.is_bot AND ((e.type = 'message' AND e.kind <> 'system') OR e.type = 'reaction')""")
    q(f"""CREATE OR REPLACE TEMP TABLE joins AS SELECT e.member_id, e.day, e.type, e.channel_id, e.actor_id, e.ts
        FROM '{folder / 'events.parquet'}' e JOIN members m ON m.id = e.member_id
        WHERE NOT m.is_bot AND e.type IN ('join', 'leave')""")
    s, t = f"DATE '{start}'", f"DATE '{end}'"
    w30, w7 = f"DATE '{end - timedelta(days=29)}'", f"DATE '{end - timedelta(days=6)}'"
    out: dict = {}
    out["daily"] = q(f"""SELECT d.day, COALESCE(a.messages, 0), COALESCE(a.active, 0), COALESCE(j.joins, 0), COALESCE(j.leaves, 0)
        FROM (SELECT CAST(range AS DATE) AS day FROM range({s}, {t} + INTERVAL 1 DAY, INTERVAL 1 DAY)) d
        LEFT JOIN (SELECT day, SUM(is_msg::INT) AS messages, COUNT(DISTINCT member_id) AS active FROM act
                   WHERE day BETWEEN {s} AND {t} GROUP BY day) a USING (day)
        LEFT JOIN (SELECT day, SUM((type = 'join')::INT) AS joins, SUM((type = 'leave')::INT) AS leaves FROM joins
                   WHERE day BETWEEN {s} AND {t} GROUP BY day) j USING (day) ORDER BY d.day""").fetchall()
    out["messages"] = sum(r[1] for r in out["daily"])
    out["joins"] = sum(r[3] for r in out["daily"])
    out["leaves"] = sum(r[4] for r in out["daily"])
    out["authors"], out["active_members"] = q(
        f"SELECT COUNT(DISTINCT CASE WHEN is_msg THEN member_id END), COUNT(DISTINCT member_id) FROM act "
        f"WHERE day BETWEEN {s} AND {t}").fetchone()
    out["dau"] = q(f"SELECT COUNT(DISTINCT member_id) FROM act WHERE day = {t}").fetchone()[0]
    out["wau"] = q(f"SELECT COUNT(DISTINCT member_id) FROM act WHERE day BETWEEN {w7} AND {t}").fetchone()[0]
    out["mau"], dau_sum = q(f"""SELECT (SELECT COUNT(DISTINCT member_id) FROM act WHERE day BETWEEN {w30} AND {t}),
        (SELECT COUNT(*) FROM (SELECT DISTINCT member_id, day FROM act WHERE day BETWEEN {w30} AND {t}))""").fetchone()
    out["dau_mau"] = round(dau_sum / 30 / out["mau"], 4) if out["mau"] else None
    out["active_days_30"] = dict(q(f"""SELECT n, COUNT(*) FROM (SELECT member_id, COUNT(DISTINCT day) n FROM act
        WHERE day BETWEEN {w30} AND {t} GROUP BY member_id) GROUP BY n""").fetchall())
    out["members_now"] = q("""SELECT COUNT(DISTINCT ms.member_id) FROM memberships ms JOIN members m ON m.id = ms.member_id
        WHERE ms.is_member AND NOT m.is_bot""").fetchone()[0]
    out["new_members"] = q(f"""SELECT COUNT(*) FROM (SELECT member_id, MIN(day) AS first FROM
        (SELECT member_id, day FROM act UNION ALL SELECT member_id, day FROM joins WHERE type = 'join')
        GROUP BY member_id) WHERE first BETWEEN {s} AND {t}""").fetchone()[0]
    out["weekly_active"] = q(f"""SELECT date_trunc('week', day)::DATE AS w, COUNT(DISTINCT member_id) FROM act
        WHERE day BETWEEN {s} AND {t} GROUP BY w ORDER BY w""").fetchall()
    heat = q(f"""SELECT isodow(day) - 1, hour, SUM(is_msg::INT), COUNT(DISTINCT (member_id, day, hour)) FROM act
        WHERE day BETWEEN {s} AND {t} GROUP BY ALL""").fetchall()
    grid = [[0] * 24 for _ in range(7)]
    hours = [[0] * 24 for _ in range(7)]
    for weekday, hour, messages, member_hours in heat:
        grid[weekday][hour], hours[weekday][hour] = int(messages), int(member_hours)
    out["heatmap_messages"], out["heatmap_member_hours"] = grid, hours
    # Retention by month of first activity, cohorts overlapping the range, in period N.
    out["retention"] = q(f"""WITH firsts AS (SELECT member_id, date_trunc('month', MIN(day))::DATE AS cohort FROM act
            WHERE day <= {t} GROUP BY member_id),
        months AS (SELECT DISTINCT member_id, date_trunc('month', day)::DATE AS month FROM act WHERE day <= {t})
        SELECT f.cohort, datediff('month', f.cohort, m.month) AS n, COUNT(*) FROM firsts f JOIN months m USING (member_id)
        WHERE f.cohort >= date_trunc('month', {s}) GROUP BY ALL ORDER BY 1, 2""").fetchall()
    # Lifecycle per week (weeks overlapping the range).
    out["lifecycle_weekly"] = q(f"""WITH weeks AS (SELECT DISTINCT member_id, date_trunc('week', day)::DATE AS w FROM act
            WHERE day <= {t}),
        firsts AS (SELECT member_id, date_trunc('week', MIN(day))::DATE AS fw FROM act WHERE day <= {t} GROUP BY member_id),
        span AS (SELECT DISTINCT date_trunc('week', CAST(range AS DATE))::DATE AS w
                 FROM range({s}, {t} + INTERVAL 1 DAY, INTERVAL 1 DAY))
        SELECT span.w,
          (SELECT COUNT(*) FROM weeks a WHERE a.w = span.w),
          (SELECT COUNT(*) FROM weeks a JOIN firsts f USING (member_id) WHERE a.w = span.w AND f.fw = span.w),
          (SELECT COUNT(*) FROM weeks a JOIN weeks b ON b.member_id = a.member_id AND b.w = span.w - 7
           WHERE a.w = span.w),
          (SELECT COUNT(*) FROM weeks b WHERE b.w = span.w - 7)
        FROM span ORDER BY span.w""").fetchall()
    # Layers, window of 30 days to the as-of date.
    layer_rows = q(f"""WITH win AS (SELECT member_id, COUNT(DISTINCT day) AS d, SUM(is_msg::INT) AS m, SUM(is_reply::INT) AS r
            FROM act WHERE day BETWEEN {w30} AND {t} GROUP BY member_id),
        pop AS (SELECT ms.member_id, bool_or(ms.is_member) AS is_current FROM memberships ms JOIN members x ON x.id = ms.member_id
            WHERE NOT x.is_bot GROUP BY ms.member_id)
        SELECT CASE
            WHEN COALESCE(d, 0) >= {LAYER['core_min_active_days']} AND (COALESCE(m, 0) >= {LAYER['core_min_messages']}
                 OR COALESCE(r, 0) >= {LAYER['core_min_replies']}) THEN 'core'
            WHEN COALESCE(d, 0) >= {LAYER['active_min_active_days']} AND COALESCE(m, 0) >= 1 THEN 'active'
            WHEN COALESCE(m, 0) >= 1 THEN 'occasional'
            WHEN pop.is_current THEN 'lurker' ELSE 'churned' END AS layer, COUNT(*)
        FROM pop LEFT JOIN win USING (member_id) GROUP BY layer""").fetchall()
    out["layers"] = {k: 0 for k in ("core", "active", "occasional", "lurker", "churned")} | dict(layer_rows)
    out["top_members"] = q(f"""SELECT member_id, SUM(is_msg::INT) AS n FROM act WHERE day BETWEEN {s} AND {t}
        GROUP BY member_id HAVING n > 0 ORDER BY n DESC, member_id LIMIT 20""").fetchall()
    # Funnel: first joins in the range.
    out["funnel"] = q(f"""WITH firstjoin AS (SELECT member_id, arg_min(day, ts) AS jday, arg_min(channel_id, ts) AS channel,
            MIN(day) AS ever FROM joins WHERE type = 'join' AND day <= {t} GROUP BY member_id),
        j AS (SELECT * FROM firstjoin WHERE ever BETWEEN {s} AND {t})
        SELECT COUNT(*),
          COUNT(*) FILTER (WHERE EXISTS (SELECT 1 FROM act a WHERE a.member_id = j.member_id AND a.is_msg
                                         AND a.day BETWEEN j.jday AND {t})),
          COUNT(*) FILTER (WHERE j.jday <= {t} - 27)
        FROM j""").fetchone()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sqlite", required=True, type=Path)
    parser.add_argument("--from", dest="start", required=True, type=date.fromisoformat)
    parser.add_argument("--to", dest="end", required=True, type=date.fromisoformat)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    folder = args.sqlite.with_suffix(".parquet.d")
    con = connect()
    export_s = export(con, args.sqlite, folder)
    started = time.perf_counter()
    result = figures(con, folder, args.start, args.end)
    first = time.perf_counter() - started
    warm = []
    for _ in range(args.runs):
        started = time.perf_counter()
        figures(con, folder, args.start, args.end)
        warm.append(time.perf_counter() - started)
    sizes = {p.name: p.stat().st_size for p in folder.glob("*.parquet")}
    import duckdb

    print(json.dumps({"version": duckdb.__version__, "export_s": export_s, "first_s": first, "warm_s": warm, "median_s": statistics.median(warm),
                      "parquet_bytes": sizes, "figures": result}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
