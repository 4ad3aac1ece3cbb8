"""Run a periodic job now, in this process, e.g. after an outage or to check a fix:

    python manage.py run_job --list
    python manage.py run_job kpis.recompute_dirty
"""

import json

from django.core.management.base import BaseCommand, CommandError

from cat4.celery import app


def _jobs() -> dict[str, str]:
    """The periodic jobs of the beat schedule: task name -> schedule entry name."""
    return {entry["task"]: name for name, entry in app.conf.beat_schedule.items()}


class Command(BaseCommand):
    help = "Run one of the periodic (beat) jobs now, in this process."

    def add_arguments(self, parser):
        parser.add_argument("task", nargs="?", help="The task name, e.g. kpis.recompute_dirty.")
        parser.add_argument("--list", action="store_true", dest="show_list",
                            help="List the jobs.")

    def handle(self, *args, task=None, show_list=False, **options):
        app.loader.import_default_modules()  # register every app's tasks (autodiscovery)
        jobs = _jobs()
        if show_list or not task:
            for name, entry in sorted(jobs.items()):
                self.stdout.write(f"{name}  ({entry})")
            return
        if task not in jobs:
            raise CommandError(f"No periodic job named {task!r}. Run with --list to see them.")
        result = app.tasks[task].apply().get(disable_sync_subtasks=False)
        self.stdout.write(self.style.SUCCESS(f"{task} done: {json.dumps(result, default=str)}"))
