"""The five largest rollups keyed by what identifies a row: a composite primary key instead of an
``id`` and a unique constraint; on SQLite their tables become WITHOUT ROWID (rows stored in the
key's own B-tree). See ``qunyun.analytics.models`` and docs/analytics.md.

Django does not turn a table with an ``id`` into one with a composite key, so the model state
changes here on its own and the tables are rebuilt by hand: on SQLite a new table is created from
the new state (the same columns and foreign keys), the rows copied in key order, the old table
dropped and its secondary indexes created again; on PostgreSQL the ``id`` column and the unique
constraint give way to a primary key on the same columns. The weeks' and months' community
indexes then cover the counts (their rows no longer lie in period order).
"""

from django.db import migrations, models

#: model name → (table, key fields in key order, the unique constraint the key replaces)
KEYED = {
    "memberday": ("qunyun_member_day", ("group", "day", "member"), "member_day_unique"),
    "grouphour": ("qunyun_group_hour", ("group", "day", "hour"), "group_hour_unique"),
    "memberweek": ("qunyun_member_week", ("member", "week"), "member_week_unique"),
    "membermonth": ("qunyun_member_month", ("member", "month"), "member_month_unique"),
    "replyedgeday": ("qunyun_reply_edge_day", ("group", "day", "source", "target"), "reply_edge_day_unique"),
}


def tables_keyed(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for model_name, (table, fields, unique) in KEYED.items():
            model = apps.get_model("analytics", model_name)
            key = [model._meta.get_field(name).column for name in fields]
            if connection.vendor == "postgresql":
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{unique}"')
                cursor.execute(f"ALTER TABLE {table} DROP COLUMN id")
                cursor.execute(f"ALTER TABLE {table} ADD PRIMARY KEY ({', '.join(key)})")
                continue
            if connection.vendor != "sqlite":
                raise NotImplementedError(f"rollup tables keyed on {connection.vendor}")
            cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
                           [table])
            indexes = [row[0] for row in cursor.fetchall()]
            create, params = schema_editor.table_sql(model)
            assert not params and create.startswith(f'CREATE TABLE "{table}" ('), create
            fresh = f"{table}__keyed"
            cursor.execute(create.replace(f'"{table}"', f'"{fresh}"', 1) + " WITHOUT ROWID")
            columns = ", ".join(f'"{field.column}"' for field in model._meta.local_concrete_fields)
            cursor.execute(f'INSERT INTO "{fresh}" ({columns}) SELECT {columns} FROM "{table}" '
                           f"ORDER BY {', '.join(key)}")
            cursor.execute(f'DROP TABLE "{table}"')
            cursor.execute(f'ALTER TABLE "{fresh}" RENAME TO "{table}"')
            for statement in indexes:
                cursor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ("analytics", "0011_member_day_member_cover"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            *(migrations.RemoveConstraint(model_name=name, name=unique) for name, (_t, _k, unique) in KEYED.items()),
            *(migrations.RemoveField(model_name=name, name="id") for name in KEYED),
            *(migrations.AddField(model_name=name, name="pk", field=models.CompositePrimaryKey(
                *fields, blank=True, editable=False, primary_key=True, serialize=False))
              for name, (_t, fields, _u) in KEYED.items()),
        ]),
        migrations.RunPython(tables_keyed, migrations.RunPython.noop, elidable=False),
        # The week and month rows are now stored in (member, period) order: the community's
        # whole-period reads get indexes that cover the counts they read.
        migrations.RemoveIndex(model_name="memberweek", name="member_week_community_cover"),
        migrations.AddIndex(model_name="memberweek", index=models.Index(
            fields=["community", "week", "member", "messages", "reactions", "replies", "active_days"],
            name="member_week_community_cover")),
        migrations.RemoveIndex(model_name="membermonth", name="member_month_community_cover"),
        migrations.AddIndex(model_name="membermonth", index=models.Index(
            fields=["community", "month", "member", "messages", "reactions"], name="member_month_community_cover")),
    ]
