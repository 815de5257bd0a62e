from django.apps import AppConfig


class DefectsConfig(AppConfig):
    name = "defects"
    verbose_name = "Defects: grouping, owners, routing, escalation, runbook"
