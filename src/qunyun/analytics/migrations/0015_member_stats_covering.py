"""The member stats' community indexes end with the member: the reads by a range of days get the members
from the index alone."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('analytics', '0014_group_day_covering'),
        ('communities', '0006_event_day_activity'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='memberstats',
            name='member_stats_community_first',
        ),
        migrations.RemoveIndex(
            model_name='memberstats',
            name='member_stats_community_join',
        ),
        migrations.RemoveIndex(
            model_name='memberstats',
            name='member_stats_community_in',
        ),
        migrations.AddIndex(
            model_name='memberstats',
            index=models.Index(fields=['community', 'first_active_day', 'member'], name='member_stats_first_cover'),
        ),
        migrations.AddIndex(
            model_name='memberstats',
            index=models.Index(fields=['community', 'first_join_day', 'member'], name='member_stats_join_cover'),
        ),
        migrations.AddIndex(
            model_name='memberstats',
            index=models.Index(fields=['community', 'in_group', 'last_message_day', 'member'], name='member_stats_in_cover'),
        ),
    ]
