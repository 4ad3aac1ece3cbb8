from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"

    def ready(self):
        # Not at module level: signals imports models, which load only once the app
        # registry is ready (Django's rule for AppConfig.ready).
        from . import signals  # noqa: F401 (connects the receivers)
