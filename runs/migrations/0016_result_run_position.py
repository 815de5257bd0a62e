from django.db import migrations, models

from runs.migrations._online_index import AddIndexOnline


class Migration(migrations.Migration):
    # CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("runs", "0015_run_area_counts"),
    ]

    operations = [
        AddIndexOnline(
            model_name="scenarioresult",
            index=models.Index(fields=["run", "position"], name="result_run_position"),
        ),
    ]
