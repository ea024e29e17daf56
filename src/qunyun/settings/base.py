"""Settings shared by every qunyun deployment. User-facing knobs live in :mod:`.env`."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from . import env

PACKAGE_DIR = Path(__file__).resolve().parent.parent
QUNYUN_HOME = env.home()

SECRET_KEY = env.secret_key()
DEBUG = env.flag("QUNYUN_DEBUG")
ALLOWED_HOSTS = [h.strip() for h in __import__("os").environ.get(
    "QUNYUN_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "qunyun.communities",
    "qunyun.bus",
    "qunyun.analytics",
    "qunyun.console",
    "qunyun.moderation",
    "qunyun.connections",
    "qunyun.onboarding",
    "qunyun.operators",
    "ninja",  # its Swagger UI files are served from the package (no CDN)
    "qunyun.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "qunyun.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "qunyun.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def database_config(url: str) -> dict:
    """Django's DATABASES entry for ``url``; SQLite gets WAL mode and immediate transactions.

    WAL lets the console read while the bot writes; ``IMMEDIATE`` transactions take the write
    lock up front so two writers queue instead of failing with "database is locked" halfway.
    """
    config = dj_database_url.parse(url, conn_max_age=0 if url.startswith("sqlite") else 60)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {
            "init_command": (
                "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;"
                "PRAGMA foreign_keys=ON;PRAGMA temp_store=MEMORY;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
    return config


DATABASES = {"default": database_config(env.database_url())}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = __import__("os").environ.get("QUNYUN_LANGUAGE", "en")
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "static/"
# Serve the files straight from the installed packages (whitenoise with finders): nothing to
# collect, nothing from a CDN. STATIC_ROOT stays unset because nothing is ever collected.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = False

LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:home"
LOGOUT_REDIRECT_URL = "console:login"

QUNYUN_DRY_RUN = env.flag("QUNYUN_DRY_RUN")
QUNYUN_REDIS_URL = __import__("os").environ.get("QUNYUN_REDIS_URL", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "qunyun": {"handlers": ["console"], "level": "INFO" if not DEBUG else "DEBUG", "propagate": False},
        "django": {"handlers": ["console"], "level": "WARNING"},
    },
}
