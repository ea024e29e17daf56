"""Copy the benchmark community from the SQLite benchmark database into PostgreSQL (same rows, same ids).

Building 10 million messages through the store takes hours on a busy machine; copying the rows
the SQLite run built (the community, its groups, members, identities, memberships, the event log
and the rollups the store kept) with COPY takes minutes, and gives PostgreSQL exactly the same
data to answer from. The PostgreSQL run then times the same figures, a full rebuild there, and the
incremental update through the store.
"""

from __future__ import annotations

import sqlite3
import time

from django.db import DatabaseError

TABLES = (
    "qunyun_community", "qunyun_channel", "qunyun_group", "qunyun_goal", "qunyun_member", "qunyun_identity",
    "qunyun_identity_name", "qunyun_membership", "qunyun_event",
    "qunyun_member_day", "qunyun_group_day", "qunyun_group_hour", "qunyun_community_hour", "qunyun_member_week",
    "qunyun_member_month", "qunyun_member_stats", "qunyun_member_group_firsts", "qunyun_group_day_mix",
    "qunyun_funnel_day", "qunyun_reply_edge_day", "qunyun_community_day", "qunyun_group_size", "qunyun_talk_day",
)


def pg_copy(sqlite_path: str, say) -> float:
    """Copy every row of :data:`TABLES` (schema already migrated, tables empty); returns the seconds."""
    from django.db import connection

    from qunyun.analytics.rebuild import postgres_indexes_drop

    started = time.perf_counter()
    source = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    with connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'UTC'")
        cursor.execute("SET maintenance_work_mem = '1GB'")
        # The rows are copies of rows that satisfied every constraint: no foreign-key trigger per
        # row (the deferred checks of 10 million events would queue at commit), when allowed.
        try:
            cursor.execute("SET session_replication_role = replica")
        except DatabaseError:
            say("  (not allowed to skip foreign-key triggers: the copy checks them)")
        raw = cursor.cursor  # the psycopg cursor, for COPY
        for table in TABLES:
            pg_columns = [c.name for c in connection.introspection.get_table_description(cursor, table)]
            src_columns = [r[1] for r in source.execute(f"PRAGMA table_info({table})")]
            columns = [c for c in src_columns if c in pg_columns]
            if not columns:
                say(f"  {table}: not in the SQLite database (built by older code): left empty")
                continue
            count = 0
            restore = postgres_indexes_drop(cursor, table)  # filled first, indexed once after: far cheaper
            with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in source.execute(f"SELECT {', '.join(columns)} FROM {table}"):
                    copy.write_row(row)
                    count += 1
            for statement in restore:
                cursor.execute(statement)
            if "id" in columns:
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"COALESCE((SELECT MAX(id) FROM {table}), 1))")
            say(f"  copied {count:,} rows of {table}")
        cursor.execute("SET session_replication_role = DEFAULT")
        cursor.execute("ANALYZE")
    source.close()
    return time.perf_counter() - started
