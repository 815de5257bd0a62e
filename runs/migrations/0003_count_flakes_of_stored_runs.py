from django.db import migrations

# A scenario of a run is flaky when an attempt failed and its last attempt passed. Only runs
# with a retried result can hold one, so only those are read, in one statement.
COUNT_ON_POSTGRESQL = """
UPDATE runs_run AS run SET flaky_count = flaky.scenarios FROM (
    SELECT run_id, count(*) AS scenarios FROM (
        SELECT run_id, scenario_id,
               bool_or(status IN ('failed', 'error')) AS failed_once,
               (array_agg(status ORDER BY attempt DESC))[1] AS last_status
        FROM runs_scenarioresult
        WHERE run_id IN (SELECT run_id FROM runs_scenarioresult WHERE attempt > 1)
        GROUP BY run_id, scenario_id
    ) AS scenario
    WHERE failed_once AND last_status = 'passed'
    GROUP BY run_id
) AS flaky
WHERE run.id = flaky.run_id
"""


def count_flakes_of_stored_runs(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(COUNT_ON_POSTGRESQL)
        return
    # The embedded SQLite database of `make run`: small, read run by run.
    result = apps.get_model("runs", "ScenarioResult")
    run = apps.get_model("runs", "Run")
    retried = result.objects.filter(attempt__gt=1).order_by().values_list("run_id", flat=True)
    for run_id in set(retried):
        last: dict[int, tuple[int, str]] = {}
        failed: set[int] = set()
        rows = result.objects.filter(run_id=run_id).order_by().values_list(
            "scenario_id", "attempt", "status"
        )
        for scenario, attempt, status in rows:
            if status in ("failed", "error"):
                failed.add(scenario)
            if scenario not in last or attempt >= last[scenario][0]:
                last[scenario] = (attempt, status)
        flaky = sum(1 for scenario in failed if last[scenario][1] == "passed")
        if flaky:
            run.objects.filter(pk=run_id).update(flaky_count=flaky)


class Migration(migrations.Migration):
    # Outside the column's transaction: the runs table is not locked while stored runs are
    # counted, and the count is only ever a correction of the default 0.
    atomic = False

    dependencies = [
        ("runs", "0002_run_flaky_count"),
    ]

    operations = [
        migrations.RunPython(count_flakes_of_stored_runs, migrations.RunPython.noop),
    ]
