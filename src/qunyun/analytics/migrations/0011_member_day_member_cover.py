"""Member-day's member index covers messages and replies: the per-member reads (a core member's window,
the last message day, the funnel's first message) answer from the index alone."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('analytics', '0010_member_week_days'),
        ('communities', '0004_membership_current_indexes'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='memberday',
            name='member_day_member_day',
        ),
        migrations.AddIndex(
            model_name='memberday',
            index=models.Index(fields=['member', 'day', 'messages', 'replies'], name='member_day_member_cover'),
        ),
    ]
