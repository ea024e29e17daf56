"""The index a rollup rebuild reads every event through, in its work table's order (built after
analytics 0013 has filled the hour and marks it holds, so that the fill does not update it row by row)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('communities', '0005_event_hour_marks'),
        ('analytics', '0013_event_hour_marks_fill'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='event',
            index=models.Index(fields=['community', 'day', 'hour', 'group', 'member', 'type', 'kind', 'marks', 'reply_to_member'], name='event_day_activity'),
        ),
    ]
