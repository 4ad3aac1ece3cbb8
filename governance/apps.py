from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"

    def ready(self):
        from . import signals  # noqa: F401 (connects the receivers)
