from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "cat4.common"
    label = "common"
