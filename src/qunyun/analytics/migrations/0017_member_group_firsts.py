"""Member-group firsts: a member's first active, message and join days per group (the dashboard
filtered by group read them from the event log and the member-days; see docs/analytics.md).

The table is made from the model state and, on SQLite, made again WITHOUT ROWID (the rows then
live in the key's own B-tree, as for the other keyed rollups; the table is still empty here).
It is filled from what the database holds: the first days from the member-days, the first join
from the log's join events of members who are not bots, which is what a rebuild computes.
"""

import django.db.models.deletion
from django.db import migrations, models

TABLE = "qunyun_member_group_firsts"


def firsts_fill(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            model = apps.get_model("analytics", "membergroupfirsts")
            create, params = schema_editor.table_sql(model)
            assert not params and create.startswith(f'CREATE TABLE "{TABLE}" ('), create
            cursor.execute(f'DROP TABLE "{TABLE}"')
            cursor.execute(create + " WITHOUT ROWID")
        cursor.execute(
            f"INSERT INTO {TABLE} (community_id, group_id, member_id, first_active_day, first_message_day, "
            "first_join_day) SELECT MIN(community_id), group_id, member_id, MIN(fa), MIN(fm), MIN(fj) FROM ("
            "SELECT community_id, group_id, member_id, day AS fa, CASE WHEN messages > 0 THEN day END AS fm, "
            "CAST(NULL AS DATE) AS fj FROM qunyun_member_day "
            "UNION ALL SELECT e.community_id, e.group_id, e.member_id, NULL, NULL, e.day FROM qunyun_event e "
            "JOIN qunyun_member m ON m.id = e.member_id WHERE e.type = 'join' AND m.is_bot = %s"
            ") u GROUP BY group_id, member_id", [False])


class Migration(migrations.Migration):

    dependencies = [
        ("analytics", "0016_member_day_keyed_by_day"),
        ("communities", "0006_event_day_activity"),
    ]

    operations = [
        migrations.CreateModel(
            name="MemberGroupFirsts",
            fields=[
                ("pk", models.CompositePrimaryKey("group", "member", blank=True, editable=False, primary_key=True,
                                                  serialize=False)),
                ("first_active_day", models.DateField(null=True)),
                ("first_message_day", models.DateField(null=True)),
                ("first_join_day", models.DateField(null=True)),
                ("community", models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                                related_name="+", to="communities.community")),
                ("group", models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="+", to="communities.group")),
                ("member", models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                             related_name="+", to="communities.member")),
            ],
            options={
                "db_table": "qunyun_member_group_firsts",
            },
        ),
        migrations.RunPython(firsts_fill, migrations.RunPython.noop, elidable=False),
    ]
