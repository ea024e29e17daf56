"""Fill the local hour and the marks of the events stored before those columns existed.

The rollups read them instead of testing every message again (a rebuild's pass over the log
spent about half its time on those tests); rows left empty would still count right, through
the SQL standing behind them, only slower. The fill is the same SQL, a range of ids per
transaction, so a migration stopped half way keeps what it filled and goes on from there.
"""

from django.db import migrations, transaction

IDS_PER_TRANSACTION = 250_000


def fill(apps, schema_editor):
    from qunyun.analytics.rollups import events_hour_marks_fill  # (first: it loads .rebuild, which needs it)
    from qunyun.analytics.rebuild import log_spans

    Community = apps.get_model("communities", "Community")
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT MIN(id), MAX(id) FROM qunyun_event")
        low, high = cursor.fetchone()
    if low is None:
        return
    for community in Community.objects.using(connection.alias).only("pk", "time_zone"):
        with connection.cursor() as cursor:
            spans = log_spans(cursor, community.pk, community.time_zone)
        if spans is None:
            continue
        for start in range(low, high + 1, IDS_PER_TRANSACTION):
            with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                events_hour_marks_fill(cursor, community.pk, spans, start, start + IDS_PER_TRANSACTION - 1)


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ("analytics", "0012_rollups_keyed"),
        ("communities", "0005_event_hour_marks"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
