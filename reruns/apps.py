from django.apps import AppConfig


class RerunsConfig(AppConfig):
    name = "reruns"
    verbose_name = "Reruns: requests and their dispatch to CI"
