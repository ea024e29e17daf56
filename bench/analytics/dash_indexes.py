"""The community indexes of group-day, group-day-mix and member stats as they were before session 10
(``old``) or as they are now (``new``), on a benchmark database: to time the older code's dashboard
against this one's on the same data.

    python bench/analytics/dash_indexes.py sqlite:///PATH|postgresql://… old|new

The tables are small (~230,000 and 200,000 rows at 10M): a switch takes a second or two. On
PostgreSQL the tables are vacuumed and analysed afterwards (index-only scans need the visibility map).
"""

from __future__ import annotations

import sys

#: index name -> (table, columns)
OLD = {
    "group_day_community_day": ("qunyun_group_day", "community_id, day"),
    "group_day_mix_community_day": ("qunyun_group_day_mix", "community_id, day"),
    "member_stats_community_first": ("qunyun_member_stats", "community_id, first_active_day"),
    "member_stats_community_join": ("qunyun_member_stats", "community_id, first_join_day"),
    "member_stats_community_in": ("qunyun_member_stats", "community_id, in_group, last_message_day"),
}
NEW = {
    "group_day_community_cover": ("qunyun_group_day", "community_id, day, group_id, messages, reactions, joins, leaves"),
    "group_day_mix_community_cover": ("qunyun_group_day_mix", "community_id, day, group_id, water, links, deleted"),
    "member_stats_first_cover": ("qunyun_member_stats", "community_id, first_active_day, member_id"),
    "member_stats_join_cover": ("qunyun_member_stats", "community_id, first_join_day, member_id"),
    "member_stats_in_cover": ("qunyun_member_stats", "community_id, in_group, last_message_day, member_id"),
}


def main() -> int:
    if len(sys.argv) != 3 or sys.argv[2] not in ("old", "new"):
        print(__doc__, file=sys.stderr)
        return 2
    url, which = sys.argv[1], sys.argv[2]
    wanted, dropped = (OLD, NEW) if which == "old" else (NEW, OLD)
    if url.startswith("sqlite:///"):
        import sqlite3

        db = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    else:
        import psycopg

        db = psycopg.connect(url, autocommit=True)
    for name in dropped:
        db.execute(f'DROP INDEX IF EXISTS "{name}"')
    for name, (table, columns) in wanted.items():
        db.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON {table} ({columns})')
    if not url.startswith("sqlite:///"):
        for table in ("qunyun_group_day", "qunyun_group_day_mix", "qunyun_member_stats"):
            db.execute(f"VACUUM ANALYZE {table}")
    db.close()
    print(f"{which} indexes in place")
    return 0


if __name__ == "__main__":
    sys.exit(main())
