"""Member-day keyed (day, group, member) instead of (group, day, member).

A rebuild folds a part's member-days in a work table keyed by day first, so it now writes them in
the table's order without a sort, and a worker's later days come after the rebuild's own (an
append, not an insert inside every group's rows); the live path's new days land at the end too.
The (group, day) reads (a group-day's active members) still find their rows by the key's first
two columns. See docs/analytics.md, "Keyed by their grain".

Django does not change a composite primary key itself: on SQLite the table is made again from
the new state (WITHOUT ROWID, as migration 0012 made it), the rows copied in the new key's
order and the secondary indexes created again; on PostgreSQL the primary key is replaced.
"""

from django.db import migrations, models

TABLE = "qunyun_member_day"
KEY = ("day", "group_id", "member_id")


def key_by_day(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'", [TABLE])
            (name,) = cursor.fetchone()
            cursor.execute(f'ALTER TABLE {TABLE} DROP CONSTRAINT "{name}"')
            cursor.execute(f"ALTER TABLE {TABLE} ADD PRIMARY KEY ({', '.join(KEY)})")
            return
        if connection.vendor != "sqlite":
            raise NotImplementedError(f"member-day keyed by day on {connection.vendor}")
        model = apps.get_model("analytics", "memberday")
        cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
                       [TABLE])
        indexes = [row[0] for row in cursor.fetchall()]
        create, params = schema_editor.table_sql(model)
        assert not params and create.startswith(f'CREATE TABLE "{TABLE}" ('), create
        fresh = f"{TABLE}__by_day"
        cursor.execute(create.replace(f'"{TABLE}"', f'"{fresh}"', 1) + " WITHOUT ROWID")
        columns = ", ".join(f'"{field.column}"' for field in model._meta.local_concrete_fields)
        cursor.execute(f'INSERT INTO "{fresh}" ({columns}) SELECT {columns} FROM "{TABLE}" ORDER BY {", ".join(KEY)}')
        cursor.execute(f'DROP TABLE "{TABLE}"')
        cursor.execute(f'ALTER TABLE "{fresh}" RENAME TO "{TABLE}"')
        for statement in indexes:
            cursor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ("analytics", "0015_member_stats_covering"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AlterField(
                model_name="memberday",
                name="pk",
                field=models.CompositePrimaryKey("day", "group", "member", blank=True, editable=False, primary_key=True,
                                                 serialize=False),
            ),
        ]),
        migrations.RunPython(key_by_day, migrations.RunPython.noop, elidable=False),
    ]
