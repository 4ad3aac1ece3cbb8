# syntax=docker/dockerfile:1
#
# Production image of cat4. One image for every role; docker-compose.yml picks the
# command: web (gunicorn, the default CMD), Celery worker, Celery beat and the
# one-shot `manage.py migrate`. See docs/operations.md.
#
#   docker build -t cat4 .

FROM python:3.11-slim

# The code runs from /app (PYTHONPATH), not from the copy `pip install .` puts in
# site-packages: settings find templates/ and static/ next to the source (BASE_DIR).
# WEB_CONCURRENCY is gunicorn's number of worker processes; .env may override it.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=cat4.settings.production \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/app/var/media \
    WEB_CONCURRENCY=2

WORKDIR /app

RUN groupadd --system --gid 10001 cat4 \
 && useradd --system --uid 10001 --gid cat4 --home-dir /app --no-create-home \
            --shell /usr/sbin/nologin cat4

# Runtime dependencies first, in their own layer, so that a code change does not
# download them again. Only [project].dependencies: never the [dev] extra
# (embedded PostgreSQL/Redis servers) nor the [test] extra.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

COPY . .
RUN pip install . \
 && rm -rf build ./*.egg-info

# Static files are collected into the image (whitenoise serves them). The three
# variables below exist only for this RUN step: settings refuse to load without
# them, and collectstatic connects to neither PostgreSQL nor Redis. Nothing here
# ends up in the runtime environment; the real values come from .env.
RUN SECRET_KEY=build-time-collectstatic-only-not-a-runtime-secret \
    DATABASE_URL=postgres://build:build@127.0.0.1:5432/build \
    REDIS_URL=redis://127.0.0.1:6379/0 \
    DJANGO_SETTINGS_MODULE=cat4.settings.production \
    python manage.py collectstatic --noinput

# The only directory the application writes to: uploaded media and the Celery
# beat schedule file. Everything else stays owned by root, read-only to the app.
RUN mkdir -p /app/var/media && chown -R cat4:cat4 /app/var

USER cat4

EXPOSE 8000

# GET /healthz on the local gunicorn (database and Redis checks); see docker/healthcheck.py.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "/app/docker/healthcheck.py"]

# gunicorn takes its number of workers from WEB_CONCURRENCY.
CMD ["gunicorn", "cat4.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
