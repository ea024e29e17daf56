"""Settings for the test suite.

SQLite by default (a file in a temporary directory, so WAL and real locking are exercised);
``QUNYUN_TEST_DATABASE_URL`` points the suite at PostgreSQL instead.
"""

import os
import tempfile

from .base import *  # noqa: F401,F403
from .base import database_config

SECRET_KEY = "qunyun-tests-only"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; tests only
_TEST_HOME = tempfile.mkdtemp(prefix="qunyun-test-home-")
QUNYUN_HOME = __import__("pathlib").Path(_TEST_HOME)

_url = os.environ.get("QUNYUN_TEST_DATABASE_URL") or f"sqlite:///{_TEST_HOME}/qunyun-test.sqlite3"
DATABASES = {"default": database_config(_url)}
if _url.startswith("sqlite"):
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(_TEST_HOME, "test.sqlite3")}
else:
    # One test database per run, so concurrent runs (CI, a developer) never collide.
    DATABASES["default"]["TEST"] = {"NAME": f"test_qunyun_{os.getpid()}"}
LOGGING["loggers"]["qunyun"]["level"] = "WARNING"  # noqa: F405
