from django.db import migrations, models

FAILING = ("failed", "error")


def count_flakes_of_stored_runs(apps, schema_editor):
    """Runs stored before the count existed get it from their results. Only runs with a
    retried result can hold a flake, so the rest are never read."""
    result = apps.get_model("runs", "ScenarioResult")
    run = apps.get_model("runs", "Run")
    retried = result.objects.filter(attempt__gt=1).values_list("run_id", flat=True).distinct()
    for run_id in retried.iterator():
        last: dict[int, tuple[int, str]] = {}
        failed: set[int] = set()
        for scenario, attempt, status in result.objects.filter(run_id=run_id).values_list(
            "scenario_id", "attempt", "status"
        ):
            if status in FAILING:
                failed.add(scenario)
            if scenario not in last or attempt >= last[scenario][0]:
                last[scenario] = (attempt, status)
        flaky = sum(1 for scenario in failed if last[scenario][1] == "passed")
        if flaky:
            run.objects.filter(pk=run_id).update(flaky_count=flaky)


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="run",
            name="flaky_count",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(count_flakes_of_stored_runs, migrations.RunPython.noop),
    ]
