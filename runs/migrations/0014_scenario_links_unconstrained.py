import django.db.models.deletion
from django.db import migrations, models

# A result's scenario, and a failure's (copied from its result), are no longer checked by
# PostgreSQL at each commit: the catalog row comes from the same ingest and is never deleted
# but with its project (see the note above ScenarioResult). Dropping a constraint keeps every
# row; going back adds it again, checking every row.


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0013_drop_result_recent_failures"),
    ]

    operations = [
        migrations.AlterField(
            model_name="invariantfailure",
            name="scenario",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                to="runs.scenario",
            ),
        ),
        migrations.AlterField(
            model_name="scenarioresult",
            name="scenario",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="results",
                to="runs.scenario",
            ),
        ),
    ]
