"""The member-hour rollup gives way to distinct active members per group-hour and community-hour.

Member-hour held one row per member, group and local hour (about one row per 1.1 events) for
one figure, the heatmap's active members. Its counts are kept now where the heatmap reads them:
``qunyun_group_hour.active_members`` and ``qunyun_community_hour``. Both are filled here from the
member-hour rows before that table goes, so no rebuild is needed. Member-day's unique key is
(group, day, member): it answers "who was active in this group on this day" as well, and the
separate (group, day) index goes, and so does group-hour's community index (the whole
community's hours are read from community-hour).
"""

import django.db.models.deletion
from django.db import migrations, models


def hours_from_member_hours(apps, schema_editor):
    """Active members per group-hour and community-hour, counted from the member-hour rows (one sort each)."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE qunyun_tmp_group_hours AS SELECT community_id, group_id, day, hour, "
            "COUNT(*) AS active FROM qunyun_member_hour GROUP BY community_id, group_id, day, hour")
        # Hours with reactions only had no group-hour row (it counted messages): they get one.
        cursor.execute(
            "INSERT INTO qunyun_group_hour (community_id, group_id, day, hour, messages, active_members) "
            "SELECT community_id, group_id, day, hour, 0, active FROM qunyun_tmp_group_hours WHERE TRUE "
            "ON CONFLICT (group_id, day, hour) DO UPDATE SET active_members = excluded.active_members")
        cursor.execute("DROP TABLE qunyun_tmp_group_hours")
        cursor.execute(
            "INSERT INTO qunyun_community_hour (community_id, day, hour, messages, active_members) "
            "SELECT community_id, day, hour, SUM(messages), COUNT(DISTINCT member_id) FROM qunyun_member_hour "
            "GROUP BY community_id, day, hour")


class Migration(migrations.Migration):

    dependencies = [
        ('analytics', '0008_fk_indexes_covered'),
        ('communities', '0004_membership_current_indexes'),
    ]

    operations = [
        migrations.CreateModel(
            name='CommunityHour',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('community', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                                related_name='+', to='communities.community')),
                ('day', models.DateField()),
                ('hour', models.SmallIntegerField()),
                ('messages', models.IntegerField(default=0)),
                ('active_members', models.IntegerField(default=0)),
            ],
            options={
                'db_table': 'qunyun_community_hour',
                'constraints': [models.UniqueConstraint(fields=('community', 'day', 'hour'),
                                                        name='community_hour_unique')],
            },
        ),
        migrations.AddField(
            model_name='grouphour',
            name='active_members',
            field=models.IntegerField(default=0, help_text='Members (not bots) with a message or reaction.'),
        ),
        migrations.RunPython(hours_from_member_hours, migrations.RunPython.noop),
        migrations.DeleteModel(
            name='MemberHour',
        ),
        migrations.RemoveIndex(
            model_name='memberday',
            name='member_day_group_day',
        ),
        migrations.RemoveIndex(
            model_name='grouphour',
            name='group_hour_community_cover',
        ),
        migrations.RemoveConstraint(
            model_name='memberday',
            name='member_day_unique',
        ),
        migrations.AddConstraint(
            model_name='memberday',
            constraint=models.UniqueConstraint(fields=('group', 'day', 'member'), name='member_day_unique'),
        ),
    ]
