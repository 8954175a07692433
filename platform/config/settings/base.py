"""Settings shared by every environment. One section per concern; values come from `env`.

Embedded default (no environment at all): SQLite in WAL mode and a filesystem Celery broker under
``var/``, so `make run` needs no server. ``DATABASE_URL=postgres://…`` and
``CELERY_BROKER_URL=redis://…`` switch the same code onto PostgreSQL and Redis.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

# --- Paths -------------------------------------------------------------------------------------
PLATFORM_DIR = Path(__file__).resolve().parents[2]
REPO_ROOT = PLATFORM_DIR.parent
FRONTEND_DIR = REPO_ROOT / "frontend"

env = environ.Env()
VAR_DIR = Path(env.str("SCA_VAR_DIR", default=str(REPO_ROOT / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# --- Core --------------------------------------------------------------------------------------
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])
SOFTWARE_VERSION = "0.1.0"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "core",
    "accounts",
    "audit",
    "trials",
    "runs",
    "imaging",
    "exports",
    "pages",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accounts.middleware.PayloadLimitMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into a 429 response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PLATFORM_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ----------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; IMMEDIATE avoids upgrade deadlocks.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False

# --- Caches ------------------------------------------------------------------------------------
# `default`: Django's per-process memory cache (login throttling). `api`: rendered responses of
# succeeded runs (runs.api_cache), which every web process should share: Redis with
# SCA_API_CACHE_URL=redis://host:6379/2 (production), else files under var/cache/api (the
# embedded default); `locmem://` (one process) and `dummy://` (off) are accepted too.
SCA_API_CACHE_TIMEOUT_S = env.int("SCA_API_CACHE_TIMEOUT_S", default=24 * 3600)


def _api_cache(url: str) -> dict:
    """The `api` cache's settings for a URL (see above)."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    if url == "locmem://":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "api"}
    if url == "dummy://":
        return {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
    if url.startswith("file://"):
        return {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": url.removeprefix("file://"),
            "OPTIONS": {"MAX_ENTRIES": 10_000},
        }
    raise ImproperlyConfigured(
        f"SCA_API_CACHE_URL={url!r}: expected redis://, rediss://, unix://, file:///path, "
        "locmem:// or dummy://"
    )


CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "api": _api_cache(env.str("SCA_API_CACHE_URL", default=f"file://{VAR_DIR / 'cache' / 'api'}")),
}

# --- Auth --------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses logins from a locked-out user/IP before the password is checked.
# `ThrottledAuthenticationBackend` applies axes only where a request is known (web and API logins).
AUTHENTICATION_BACKENDS = [
    "accounts.backends.ThrottledAuthenticationBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 1  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# --- Internationalisation ----------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media files --------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(REPO_ROOT / "staticfiles")))
STATICFILES_DIRS = [FRONTEND_DIR / "dist"]
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing root
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("SCA_MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024  # specs are small JSON documents

# --- Celery ------------------------------------------------------------------------------------
# Queues: `simulation` (cohort chunks), `render` (physics engine, CPU), `braing3n` (neural engine,
# GPU workers), `exports`, and `default` for everything else.
EMBEDDED_BROKER_DIR = VAR_DIR / "celery-broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _folder in ("queue", "processed", "control"):
        (EMBEDDED_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(EMBEDDED_BROKER_DIR / "queue"),
        "data_folder_out": str(EMBEDDED_BROKER_DIR / "queue"),
        "processed_folder": str(EMBEDDED_BROKER_DIR / "processed"),
        "control_folder": str(EMBEDDED_BROKER_DIR / "control"),
        "store_processed": False,
    }
    _default_result_backend = f"db+sqlite:///{VAR_DIR / 'celery-results.sqlite3'}"
else:
    # Longer than the longest task (the hard time limits below), so a running task is never
    # redelivered to a second worker while the first one is still alive. A dead worker's
    # chunk does not wait for it: see the stalled-chunk sweep (SCA_CHUNK_STALL_S) below.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("SCA_BROKER_VISIBILITY_TIMEOUT_S", default=4 * 3600)
    }
    _default_result_backend = CELERY_BROKER_URL
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=_default_result_backend)
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES_CPU = ["default", "simulation", "render", "exports"]
CELERY_TASK_QUEUES_GPU = ["braing3n"]
# A task is acknowledged only after it finished, and re-queued if its worker dies mid-task:
# chunk writes are idempotent, so a redelivery replaces and never duplicates.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TRACK_STARTED = True
CELERY_TASK_SOFT_TIME_LIMIT = 30 * 60
CELERY_TASK_TIME_LIMIT = 35 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_ROUTES = {
    "runs.simulate_chunk": {"queue": "simulation"},
    "runs.finalise_run": {"queue": "simulation"},
    "imaging.render_volume": {"queue": "render"},  # braing3n volumes go to the `braing3n` queue
    "exports.build_export": {"queue": "exports"},
    # Never behind long chunks on `simulation`: the sweep is what rescues them.
    "runs.requeue_stalled_chunks": {"queue": "default"},
}
# Time limits per queue (seconds, soft then hard); all stay below the broker visibility timeout.
SCA_QUEUE_TIME_LIMITS_S = {
    "simulation": (20 * 60, 25 * 60),
    "render": (10 * 60, 12 * 60),
    "braing3n": (30 * 60, 35 * 60),
    "exports": (100 * 60, 110 * 60),
}
# Subjects per `simulation` task: small enough for frequent progress, large enough to amortise.
SCA_RUN_CHUNK_SIZE = env.int("SCA_RUN_CHUNK_SIZE", default=25)
SCA_RUN_MAX_SUBJECTS = env.int("SCA_RUN_MAX_SUBJECTS", default=100_000)
SCA_CHUNK_MAX_RETRIES = 2
# Stalled chunks: a chunk's worker writes a heartbeat at its start and after each subject. A
# worker killed mid-chunk (SIGKILL, lost machine) leaves its message unacknowledged until the
# visibility timeout (4 h); instead, Celery beat runs `runs.requeue_stalled_chunks` every
# SCA_CHUNK_SWEEP_S, which re-dispatches (and audits) the pending chunks of running runs whose
# heartbeat is older than SCA_CHUNK_STALL_S; after SCA_CHUNK_MAX_REQUEUES the run fails instead.
# SCA_CHUNK_STALL_S must exceed the time of one subject (seconds at 2 mm).
SCA_CHUNK_STALL_S = env.int("SCA_CHUNK_STALL_S", default=300)
SCA_CHUNK_SWEEP_S = env.int("SCA_CHUNK_SWEEP_S", default=60)
SCA_CHUNK_MAX_REQUEUES = env.int("SCA_CHUNK_MAX_REQUEUES", default=3)
CELERY_BEAT_SCHEDULE = {
    "requeue-stalled-chunks": {
        "task": "runs.requeue_stalled_chunks",
        "schedule": SCA_CHUNK_SWEEP_S,
        # The beat's own setting travels with the task: whichever worker runs it applies it.
        "kwargs": {"stall_s": SCA_CHUNK_STALL_S},
        "options": {"expires": SCA_CHUNK_SWEEP_S},
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = env.str(
    "SCA_BEAT_SCHEDULE_FILE", default=str(VAR_DIR / "celerybeat-schedule")
)

# --- Compute devices ---------------------------------------------------------------------------
SCA_DEVICE = env.str("SCA_DEVICE", default="cpu")  # cpu | cuda, for simulation and braing3n

# --- REST API ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "core.openapi.ScaAutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.api_errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"login": env.str("SCA_LOGIN_THROTTLE_RATE", default="30/min")},
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Synthetic control arm API",
    "DESCRIPTION": "Trials, cohort specs, simulation runs, subjects, volumes, statistics and exports.",
    "VERSION": SOFTWARE_VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI assets are served from the installed sidecar package: there is no CDN offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a `status` field with their own choices: name each enum explicitly.
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "runs.models.RunStatus",
        "ExportStatusEnum": "exports.models.ExportStatus",
        "VolumeStatusEnum": "imaging.models.VolumeStatus",
    },
}

# --- Logging -----------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
}
