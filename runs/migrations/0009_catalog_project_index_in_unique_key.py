import django.db.models.deletion
from django.db import migrations, models

# The unique (project, key) index of each catalog already serves lookups by project, so the
# foreign key's own index only cost writes. Only the index goes: Django's AlterField would
# also drop and re-add the foreign key, checking every stored row again under a lock.
CATALOGS = [
    ("failurereason", "reasons", "runs_failurereason_project_id_2144d399"),
    ("invariant", "invariants", "runs_invariant_project_id_07ce56bd"),
    ("scenario", "scenarios", "runs_scenario_project_id_083310d6"),
]


def _table(model_name: str) -> str:
    return f"runs_{model_name}"


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0008_failure_tallies"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name=model_name,
                    name="project",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name=related_name,
                        to="runs.project",
                    ),
                )
                for model_name, related_name, _ in CATALOGS
            ],
            database_operations=[
                migrations.RunSQL(
                    sql=f'DROP INDEX IF EXISTS "{index}"',
                    reverse_sql=f'CREATE INDEX "{index}" ON "{_table(model_name)}" ("project_id")',
                )
                for model_name, _, index in CATALOGS
            ],
        ),
    ]
