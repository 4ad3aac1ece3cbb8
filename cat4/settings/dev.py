"""Local development (`make run`): debug on, console email, a throwaway secret.

Without DATABASE_URL / REDIS_URL, the embedded servers that `make run` starts under
./var (or $CAT4_VAR_DIR) are used, so `python manage.py shell` (or migrate, or
makemigrations) works beside a running `make run` with no extra set-up.
"""

import os
from pathlib import Path

from cat4.devservers import DATABASE_NAME, redis_socket_path

_var = Path(os.environ.get("CAT4_VAR_DIR") or Path(__file__).resolve().parents[2] / "var")
os.environ.setdefault("DATABASE_URL",
                      f"postgresql://postgres:@/{DATABASE_NAME}?host={_var / 'pgdata'}")
os.environ.setdefault("REDIS_URL", f"unix://{redis_socket_path(_var / 'redis')}?db=0")
os.environ.setdefault("SECRET_KEY", "dev-insecure-secret-key-do-not-use-in-production")
os.environ.setdefault("DEBUG", "true")

from .base import *  # noqa: E402

STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
WHITENOISE_USE_FINDERS = True  # serve static/ directly; no collectstatic needed
