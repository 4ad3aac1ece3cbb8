"""Local development (`make run`): debug on, console email, a throwaway secret."""

import os

os.environ.setdefault("SECRET_KEY", "dev-insecure-secret-key-do-not-use-in-production")
os.environ.setdefault("DEBUG", "true")

from .base import *

STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
WHITENOISE_USE_FINDERS = True  # serve static/ directly; no collectstatic needed
