"""The group-day and group-day-mix community indexes cover the counts read over a range of days (the
daily series, the health alerts' per-group sums), which were fetched row by row from the tables."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('analytics', '0013_event_hour_marks_fill'),
        ('communities', '0006_event_day_activity'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='groupday',
            name='group_day_community_day',
        ),
        migrations.RemoveIndex(
            model_name='groupdaymix',
            name='group_day_mix_community_day',
        ),
        migrations.AddIndex(
            model_name='groupday',
            index=models.Index(fields=['community', 'day', 'group', 'messages', 'reactions', 'joins', 'leaves'], name='group_day_community_cover'),
        ),
        migrations.AddIndex(
            model_name='groupdaymix',
            index=models.Index(fields=['community', 'day', 'group', 'water', 'links', 'deleted'], name='group_day_mix_community_cover'),
        ),
    ]
