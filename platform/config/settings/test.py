"""Test settings: same services as configured by the environment (PostgreSQL/Redis in CI).

Worker processes started by the tests inherit ``SCA_TEST_DB_NAME`` so that they write to the
database pytest-django created, not to the development one.
"""

from .base import *  # noqa: F403
from .base import CACHES, DATABASES, VAR_DIR, _api_cache, env

DEBUG = False
SECRET_KEY = "test-only-insecure-key"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = VAR_DIR / "test-media"

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so that worker processes can open the same test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
_worker_db_name = env.str("SCA_TEST_DB_NAME", default="")
if _worker_db_name:
    DATABASES["default"]["NAME"] = _worker_db_name

# The `api` response cache in this process's memory (tests clear it), unless one is configured
# (the API benchmark serves through several gunicorn processes sharing Redis or files).
if not env.str("SCA_API_CACHE_URL", default=""):
    CACHES = {**CACHES, "api": _api_cache("locmem://")}
