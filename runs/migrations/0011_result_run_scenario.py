from django.db import migrations, models

from runs.migrations._online_index import AddIndexOnline, RemoveIndexOnline


class Migration(migrations.Migration):
    # CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("runs", "0010_copied_columns_without_constraints"),
    ]

    # The new indexes first: a run's failed results are never read without one.
    operations = [
        AddIndexOnline(
            model_name="scenarioresult",
            index=models.Index(fields=["run", "scenario", "status"], name="result_run_scenario"),
        ),
        AddIndexOnline(
            model_name="scenarioresult",
            index=models.Index(
                condition=models.Q(("status__in", ["failed", "error"])),
                fields=["run"],
                name="result_run_failing",
            ),
        ),
        RemoveIndexOnline(model_name="scenarioresult", name="result_run_status"),
    ]
