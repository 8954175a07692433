"""Settings come from the environment; production refuses unsafe configuration."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SCA_TEST"))}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def production_env(**overrides: str) -> dict[str, str]:
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "sca.example.org",
    }
    env.update(overrides)
    return env


def test_production_passes_check_deploy_with_no_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"DJANGO_SECRET_KEY": ""}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": "development-only-insecure-key-do-not-deploy"}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_ALLOWED_HOSTS": ""}, "DJANGO_ALLOWED_HOSTS"),
        ({"DJANGO_DEBUG": "true"}, "DJANGO_DEBUG"),
    ],
)
def test_production_refuses_to_start_when_unsafe(overrides, message):
    result = manage("check", env=production_env(**overrides))
    assert result.returncode != 0
    assert message in result.stderr


def test_development_default_runs_on_sqlite_and_the_embedded_broker(tmp_path):
    probe = (
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE']);"
        "print(s.DATABASES['default']['OPTIONS']['init_command']);"
        "print(s.CELERY_BROKER_URL)"
    )
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.development",
        "SCA_VAR_DIR": str(tmp_path),
        "DATABASE_URL": "",
        "CELERY_BROKER_URL": "",
    }
    clean = {k: v for k, v in os.environ.items() if k not in env}
    clean.update({k: v for k, v in env.items() if v})
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", probe],
        cwd=REPO_ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    engine, init_command, broker = result.stdout.strip().splitlines()
    assert engine == "django.db.backends.sqlite3"
    assert "journal_mode=WAL" in init_command
    assert broker == "filesystem://"


def test_environment_switches_database_and_broker(tmp_path):
    probe = (
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE']);"
        "print(s.DATABASES['default']['NAME']);"
        "print(s.CELERY_BROKER_URL);print(s.CELERY_RESULT_BACKEND)"
    )
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.development",
        "SCA_VAR_DIR": str(tmp_path),
        "DATABASE_URL": "postgres://sca:pw@db.internal:5432/sca_prod",
        "CELERY_BROKER_URL": "redis://cache.internal:6379/3",
    }
    clean = {k: v for k, v in os.environ.items() if k not in env and k != "CELERY_RESULT_BACKEND"}
    clean.update(env)
    result = subprocess.run(
        [sys.executable, "-c", f"import django;django.setup();{probe}"],
        cwd=REPO_ROOT,
        env={**clean, "PYTHONPATH": f"{REPO_ROOT / 'platform'}:{REPO_ROOT}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    engine, name, broker, backend = result.stdout.strip().splitlines()
    assert engine == "django.db.backends.postgresql"
    assert name == "sca_prod"
    assert broker == "redis://cache.internal:6379/3"
    assert backend == broker
