"""A member's week also keeps its active days and replies: a window of whole weeks is read from
the member-week rows instead of every member-day row (the dashboard's 30-day member window).
Existing rows are counted from the member-days."""

from django.db import migrations, models


def week_days_from_member_days(apps, schema_editor):
    connection = schema_editor.connection
    week_end = "w.week + 6" if connection.vendor == "postgresql" else "date(w.week, '+6 days')"
    with connection.cursor() as cursor:
        for column, expression in (("active_days", "COUNT(DISTINCT md.day)"), ("replies", "SUM(md.replies)")):
            cursor.execute(
                f"UPDATE qunyun_member_week SET {column} = COALESCE((SELECT {expression} FROM qunyun_member_day md "
                f"WHERE md.member_id = qunyun_member_week.member_id AND md.day BETWEEN qunyun_member_week.week AND "
                f"{week_end.replace('w.week', 'qunyun_member_week.week')}), 0)")


class Migration(migrations.Migration):

    dependencies = [
        ('analytics', '0009_hour_rollups'),
    ]

    operations = [
        migrations.AddField(
            model_name='memberweek',
            name='active_days',
            field=models.IntegerField(default=0, help_text='Days of the week with activity in any group.'),
        ),
        migrations.AddField(
            model_name='memberweek',
            name='replies',
            field=models.IntegerField(default=0, help_text="Messages that answer another member's message."),
        ),
        migrations.RunPython(week_days_from_member_days, migrations.RunPython.noop),
    ]
