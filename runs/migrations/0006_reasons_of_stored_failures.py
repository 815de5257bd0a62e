from django.db import migrations

BATCH = 5000


def reasons_for_stored_failures(apps, schema_editor):
    # Failures stored before reasons existed get theirs, in batches of one transaction each
    # (the migration is not atomic), so a large history neither holds one long lock nor
    # starts over after an interruption: a batch only picks failures still without a reason.
    from runs.reasons import failure_reason, reason_key

    failure_model = apps.get_model("runs", "InvariantFailure")
    reason_model = apps.get_model("runs", "FailureReason")
    while True:
        batch = list(
            failure_model.objects.filter(reason__isnull=True)
            .order_by("pk")
            .values("pk", "project_id", "message", "observed", "key_entity_ids")[:BATCH]
        )
        if not batch:
            return
        texts = {
            row["pk"]: failure_reason(row["message"], row["observed"], row["key_entity_ids"])
            for row in batch
        }
        wanted = {
            (row["project_id"], reason_key(texts[row["pk"]])): texts[row["pk"]] for row in batch
        }
        reason_model.objects.bulk_create(
            [reason_model(project_id=p, key=k, text=t) for (p, k), t in wanted.items()],
            ignore_conflicts=True,
        )
        ids = {
            (r.project_id, r.key): r.pk
            for r in reason_model.objects.filter(key__in={k for _, k in wanted})
        }
        by_reason: dict[int, list[int]] = {}
        for row in batch:
            reason_id = ids[row["project_id"], reason_key(texts[row["pk"]])]
            by_reason.setdefault(reason_id, []).append(row["pk"])
        for reason_id, pks in by_reason.items():
            failure_model.objects.filter(pk__in=pks).update(reason_id=reason_id)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("runs", "0005_failure_reasons"),
    ]

    operations = [
        migrations.RunPython(reasons_for_stored_failures, migrations.RunPython.noop),
    ]
