from importlib import import_module

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


# The steps that take over models which lived in the `triage` app, shared with the defects app.
moved_from_triage = import_module("defects.migrations.0001_initial").moved_from_triage


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('defects', '0001_initial'),
        ('runs', '0001_initial'),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Dispatcher',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('github', 'GitHub Actions (workflow_dispatch)'), ('webhook', 'Generic webhook (HMAC-signed JSON)'), ('command', 'Local command (defined by the operator)')], max_length=16)),
                        ('github_repository', models.CharField(blank=True, help_text='owner/name', max_length=200)),
                        ('github_workflow', models.CharField(blank=True, help_text='Workflow file name or id, e.g. rerun.yml', max_length=200)),
                        ('github_token_encrypted', models.TextField(blank=True)),
                        ('github_token_env', models.CharField(blank=True, help_text='Or: the environment variable that holds the token', max_length=100)),
                        ('webhook_url', models.URLField(blank=True)),
                        ('webhook_secret_encrypted', models.TextField(blank=True)),
                        ('command_name', models.CharField(blank=True, help_text="One of the commands in the server's settings", max_length=100)),
                        ('max_concurrent', models.PositiveIntegerField(default=3)),
                        ('timeout_minutes', models.PositiveIntegerField(default=60)),
                        ('project', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='dispatcher', to='runs.project')),
                    ],
                    options={
                        'db_table': 'triage_dispatcher',
                    },
                ),
                migrations.CreateModel(
                    name='Rerun',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('scenario_keys', models.JSONField(default=list)),
                        ('ref_kind', models.CharField(choices=[('commit', 'the failing commit'), ('branch', 'the branch head')], default='commit', max_length=8)),
                        ('branch', models.CharField(blank=True, max_length=255)),
                        ('commit', models.CharField(blank=True, max_length=64)),
                        ('token', models.CharField(max_length=64, unique=True)),
                        ('idempotency_key', models.CharField(max_length=64, unique=True)),
                        ('state', models.CharField(choices=[('requested', 'requested'), ('dispatching', 'dispatching'), ('dispatched', 'dispatched'), ('running', 'running'), ('passed', 'passed'), ('failed', 'failed'), ('error', 'error'), ('timed_out', 'timed out'), ('cancelled', 'cancelled')], default='requested', max_length=16)),
                        ('attempts', models.PositiveIntegerField(default=0)),
                        ('lease_until', models.DateTimeField(blank=True, null=True)),
                        ('last_error', models.TextField(blank=True)),
                        ('output_tail', models.TextField(blank=True)),
                        ('exit_code', models.IntegerField(blank=True, null=True)),
                        ('ci_url', models.URLField(blank=True, max_length=2000)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('dispatched_at', models.DateTimeField(blank=True, null=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('defect', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='reruns', to='defects.defect')),
                        ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='reruns', to='runs.project')),
                        ('report_run', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='runs.run')),
                        ('requested_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('source_run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='runs.run')),
                    ],
                    options={
                        'db_table': 'triage_rerun',
                        'ordering': ['-created_at', '-id'],
                        'indexes': [models.Index(condition=models.Q(('state__in', ['requested', 'dispatching', 'dispatched', 'running'])), fields=['project', 'state', 'created_at'], name='rerun_active'), models.Index(fields=['source_run', '-created_at'], name='rerun_by_run')],
                    },
                ),
            ],
        ),
        *moved_from_triage("reruns"),
    ]
