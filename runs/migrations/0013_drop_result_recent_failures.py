from django.db import migrations

from runs.migrations._online_index import RemoveIndexOnline

# Top failing scenarios read the daily rollups (0012): no page reads this index any more, and
# every failing result paid for it at ingest.


class Migration(migrations.Migration):
    # CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("runs", "0012_daily_rollups"),
    ]

    operations = [
        RemoveIndexOnline(model_name="scenarioresult", name="result_recent_failures"),
    ]
