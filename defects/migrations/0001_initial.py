import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def moved_from_triage(app_label):
    """The steps that take over models which lived in the `triage` app, under the same table
    names, from the state the migrations describe; the reruns app uses them too."""

    def create_missing_tables(apps, schema_editor):
        # A database made before the move already has the tables and every row in them, so
        # they are kept as they are; a new database gets them here.
        existing = set(schema_editor.connection.introspection.table_names())
        for model in apps.get_app_config(app_label).get_models():
            if model._meta.db_table not in existing:
                schema_editor.create_model(model)

    def adopt_content_types(apps, schema_editor):
        # Content types, and the permissions hanging on them, move along instead of staying
        # behind under `triage` while new ones are made.
        content_type = apps.get_model("contenttypes", "ContentType")
        moved = [model._meta.model_name for model in apps.get_app_config(app_label).get_models()]
        content_type.objects.filter(app_label="triage", model__in=moved).update(
            app_label=app_label
        )

    return [
        migrations.RunPython(create_missing_tables, migrations.RunPython.noop),
        migrations.RunPython(adopt_content_types, migrations.RunPython.noop),
    ]


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('runs', '0001_initial'),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='TriagedRun',
                    fields=[
                        ('run', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to='runs.run')),
                        ('triaged_at', models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        'db_table': 'triage_triagedrun',
                    },
                ),
                migrations.CreateModel(
                    name='RunbookLink',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('class', 'class'), ('invariant', 'invariant prefix'), ('scenario', 'scenario prefix')], max_length=16)),
                        ('match', models.CharField(max_length=100)),
                        ('anchor', models.CharField(max_length=200)),
                        ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='runbook_links', to='runs.project')),
                    ],
                    options={
                        'db_table': 'triage_runbooklink',
                        'ordering': ['kind', 'match'],
                    },
                ),
                migrations.CreateModel(
                    name='Team',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100)),
                        ('members', models.ManyToManyField(blank=True, db_table='triage_team_members', related_name='teams', to=settings.AUTH_USER_MODEL)),
                        ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='teams', to='runs.project')),
                    ],
                    options={
                        'db_table': 'triage_team',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='RoutingRule',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('position', models.PositiveIntegerField()),
                        ('defect_class', models.CharField(blank=True, choices=[('unclassified', 'Unclassified'), ('infra', 'Infra/CI'), ('harness', 'Harness/diagnostics'), ('algorithm', 'Algorithm regression'), ('data', 'Data/schema drift'), ('flake', 'Flake/concurrency')], max_length=16)),
                        ('scenario_prefix', models.CharField(blank=True, max_length=100)),
                        ('invariant_prefix', models.CharField(blank=True, max_length=100)),
                        ('file_glob', models.CharField(blank=True, max_length=500)),
                        ('source', models.CharField(blank=True, help_text='e.g. CODEOWNERS line 12', max_length=200)),
                        ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='routing_rules', to='runs.project')),
                        ('team', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='rules', to='defects.team')),
                    ],
                    options={
                        'db_table': 'triage_routingrule',
                        'ordering': ['project', 'position', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='Defect',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('fingerprint', models.CharField(max_length=520)),
                        ('state', models.CharField(choices=[('new', 'New'), ('acknowledged', 'Acknowledged'), ('regressed', 'Regressed'), ('muted', 'Muted'), ('resolved', 'Resolved')], default='new', max_length=16)),
                        ('defect_class', models.CharField(choices=[('unclassified', 'Unclassified'), ('infra', 'Infra/CI'), ('harness', 'Harness/diagnostics'), ('algorithm', 'Algorithm regression'), ('data', 'Data/schema drift'), ('flake', 'Flake/concurrency')], default='unclassified', max_length=16)),
                        ('suggested_class', models.CharField(blank=True, choices=[('unclassified', 'Unclassified'), ('infra', 'Infra/CI'), ('harness', 'Harness/diagnostics'), ('algorithm', 'Algorithm regression'), ('data', 'Data/schema drift'), ('flake', 'Flake/concurrency')], max_length=16)),
                        ('suggestion_reason', models.CharField(blank=True, max_length=500)),
                        ('mute_reason', models.CharField(blank=True, max_length=500)),
                        ('muted_until', models.DateTimeField(blank=True, null=True)),
                        ('first_seen', models.DateTimeField()),
                        ('last_seen', models.DateTimeField()),
                        ('occurrence_count', models.PositiveIntegerField(default=0)),
                        ('escalated_at', models.DateTimeField(blank=True, null=True)),
                        ('acknowledged_at', models.DateTimeField(blank=True, null=True)),
                        ('resolved_at', models.DateTimeField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('version', models.PositiveIntegerField(default=1)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('assignee', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='assigned_defects', to=settings.AUTH_USER_MODEL)),
                        ('changed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('invariant', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='defects', to='runs.invariant')),
                        ('last_run', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='runs.run')),
                        ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='defects', to='runs.project')),
                        ('scenario', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='defects', to='runs.scenario')),
                        ('routed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='defects.routingrule')),
                        ('owner_team', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='defects', to='defects.team')),
                    ],
                    options={
                        'db_table': 'triage_defect',
                    },
                ),
                migrations.CreateModel(
                    name='TriageSettings',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('escalate_after_minutes', models.PositiveIntegerField(default=20)),
                        ('notify_emails', models.TextField(blank=True, help_text='One address per line')),
                        ('webhook_url', models.URLField(blank=True, help_text='Slack-compatible incoming webhook')),
                        ('github_repository', models.CharField(blank=True, help_text='owner/name', max_length=200)),
                        ('github_token_encrypted', models.TextField(blank=True)),
                        ('project', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='triage', to='runs.project')),
                    ],
                    options={
                        'db_table': 'triage_triagesettings',
                    },
                ),
                migrations.CreateModel(
                    name='DefectEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('created', 'created'), ('state', 'state'), ('class', 'class'), ('owner', 'owner team'), ('assignee', 'assignee'), ('comment', 'comment'), ('mute', 'muted'), ('regression', 'regressed'), ('escalation', 'escalated'), ('rerun', 'rerun')], max_length=16)),
                        ('from_value', models.CharField(blank=True, max_length=200)),
                        ('to_value', models.CharField(blank=True, max_length=200)),
                        ('text', models.TextField(blank=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('defect', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='events', to='defects.defect')),
                    ],
                    options={
                        'db_table': 'triage_defectevent',
                        'ordering': ['created_at', 'id'],
                        'indexes': [models.Index(fields=['defect', 'created_at'], name='event_timeline')],
                    },
                ),
                migrations.CreateModel(
                    name='DefectOccurrence',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('seen_at', models.DateTimeField()),
                        ('defect', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='occurrences', to='defects.defect')),
                        ('failure', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='runs.invariantfailure')),
                        ('result', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='runs.scenarioresult')),
                        ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='runs.run')),
                    ],
                    options={
                        'db_table': 'triage_defectoccurrence',
                        'indexes': [models.Index(fields=['defect', '-seen_at'], name='occurrence_history')],
                        'constraints': [models.UniqueConstraint(fields=('defect', 'result'), name='occurrence_once_per_result')],
                    },
                ),
                migrations.CreateModel(
                    name='Notification',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('channel', models.CharField(choices=[('email', 'email'), ('webhook', 'webhook')], max_length=8)),
                        ('subject', models.CharField(max_length=300)),
                        ('body', models.TextField()),
                        ('recipients', models.TextField(blank=True)),
                        ('status', models.CharField(choices=[('pending', 'pending'), ('sending', 'sending'), ('sent', 'sent'), ('failed', 'failed')], default='pending', max_length=8)),
                        ('attempts', models.PositiveIntegerField(default=0)),
                        ('last_error', models.TextField(blank=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('claimed_at', models.DateTimeField(blank=True, null=True)),
                        ('sent_at', models.DateTimeField(blank=True, null=True)),
                        ('defect', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='notifications', to='defects.defect')),
                        ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='runs.project')),
                    ],
                    options={
                        'db_table': 'triage_notification',
                        'indexes': [models.Index(condition=models.Q(('status', 'pending')), fields=['created_at'], name='notification_pending')],
                    },
                ),
                migrations.CreateModel(
                    name='RunbookVersion',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('number', models.PositiveIntegerField()),
                        ('markdown', models.TextField()),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('author', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='runbooks', to='runs.project')),
                    ],
                    options={
                        'db_table': 'triage_runbookversion',
                        'ordering': ['-number'],
                        'constraints': [models.UniqueConstraint(fields=('project', 'number'), name='runbook_version_unique')],
                    },
                ),
                migrations.CreateModel(
                    name='SharedCause',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('signature', models.CharField(help_text='Invariant kind or error text', max_length=300)),
                        ('areas', models.CharField(max_length=300)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('defects', models.ManyToManyField(db_table='triage_sharedcause_defects', related_name='shared_causes', to='defects.defect')),
                        ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='runs.project')),
                        ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='runs.run')),
                    ],
                    options={
                        'db_table': 'triage_sharedcause',
                        'constraints': [models.UniqueConstraint(fields=('run', 'signature'), name='shared_cause_once_per_run')],
                    },
                ),
                migrations.AddConstraint(
                    model_name='team',
                    constraint=models.UniqueConstraint(fields=('project', 'name'), name='team_name_unique_in_project'),
                ),
                migrations.AddIndex(
                    model_name='defect',
                    index=models.Index(fields=['project', 'state', '-last_seen'], name='defect_state_recent'),
                ),
                migrations.AddIndex(
                    model_name='defect',
                    index=models.Index(fields=['owner_team', 'state', 'first_seen'], name='defect_team_queue'),
                ),
                migrations.AddIndex(
                    model_name='defect',
                    index=models.Index(condition=models.Q(('escalated_at__isnull', True)), fields=['defect_class', 'created_at'], name='defect_unescalated'),
                ),
                migrations.AddConstraint(
                    model_name='defect',
                    constraint=models.UniqueConstraint(fields=('project', 'fingerprint'), name='defect_fingerprint_unique'),
                ),
            ],
        ),
        *moved_from_triage("defects"),
    ]
