import django.db.models.deletion
from django.db import migrations, models


def _copied_from_parent(to: str, **options: object) -> models.ForeignKey:
    return models.ForeignKey(
        db_constraint=False, on_delete=django.db.models.deletion.CASCADE, to=to, **options
    )


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0009_catalog_project_index_in_unique_key"),
    ]

    # Only the constraints go (see the comment above ScenarioResult): the columns, their
    # values and their indexes stay; going back checks every row again.
    operations = [
        migrations.AlterField(
            "failureentity", "project", _copied_from_parent("runs.project", db_index=False)
        ),
        migrations.AlterField(
            "invariantfailure", "project", _copied_from_parent("runs.project", db_index=False)
        ),
        migrations.AlterField(
            "invariantfailure", "run", _copied_from_parent("runs.run", related_name="failures")
        ),
        migrations.AlterField(
            "scenarioresult", "project", _copied_from_parent("runs.project", db_index=False)
        ),
    ]
