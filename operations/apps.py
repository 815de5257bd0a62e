from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "operations"
    verbose_name = "Operations: health, metrics, logs, resilience, security headers"

    def ready(self) -> None:
        from operations.after_response import listen

        listen()
