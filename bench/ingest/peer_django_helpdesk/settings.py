"""The least Django project django-helpdesk 2.6.1 runs its email ingest in.

Everything it writes (SQLite database, attachments) goes under
PEER_WORK_DIR, a fresh temp dir per round. Outgoing mail stays in memory
(locmem backend): ingest still renders and "sends" every notification it
would send, without a relay to wait on.
"""

import os
from pathlib import Path

WORK_DIR = Path(os.environ["PEER_WORK_DIR"])

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "Asia/Jakarta"
SITE_ID = 1
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.sites",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "helpdesk",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                         "NAME": str(WORK_DIR / "helpdesk.sqlite3")}}
MEDIA_ROOT = str(WORK_DIR / "media")
STATIC_URL = "/static/"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEFAULT_FROM_EMAIL = "helpdesk@localhost"

# pinax-teams is an optional extra; the bench measures mail ingest only.
HELPDESK_TEAMS_MODE_ENABLED = False
