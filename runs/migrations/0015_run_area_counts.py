from django.db import migrations, models

# A nullable column: added without rewriting the runs table. Runs stored before it keep none,
# and their page counts their results as before.


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0014_scenario_links_unconstrained"),
    ]

    operations = [
        migrations.AddField(
            model_name="run",
            name="area_counts",
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
    ]
