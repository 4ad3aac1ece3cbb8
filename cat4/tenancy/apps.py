from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "cat4.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"
