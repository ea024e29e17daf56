"""The local hour and the marks of each event, stored once by the store (filled for older rows by analytics 0013)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('communities', '0004_membership_current_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='event',
            name='hour',
            field=models.SmallIntegerField(help_text="Hour (0-23) in the community's time zone.", null=True),
        ),
        migrations.AddField(
            model_name='event',
            name='marks',
            field=models.IntegerField(help_text='Messages: chat-only (bit 0), carries a link (bit 1), mentions (from bit 2); see qunyun.core.marks.', null=True),
        ),
    ]
