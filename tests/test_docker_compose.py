"""No Docker engine runs here, so the deployment file is checked against the code it deploys."""

import re
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
SETTINGS_DIR = REPO_ROOT / "platform" / "config" / "settings"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


def variables_read_by_settings() -> set[str]:
    source = "\n".join(p.read_text() for p in SETTINGS_DIR.glob("*.py"))
    return set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z0-9_]+)"', source))


def test_services_of_the_full_deployment(compose):
    assert set(compose["services"]) == {
        "postgres",
        "redis",
        "migrate",
        "web",
        "worker",
        "worker-gpu",
        "beat",
    }


def test_postgres_and_redis_are_persistent_and_health_checked(compose):
    services = compose["services"]
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"]


def test_app_services_share_the_media_volume_and_wait_for_their_dependencies(compose):
    services = compose["services"]
    for name in ("migrate", "web", "worker", "worker-gpu"):
        service = services[name]
        assert "media:/data" in service["volumes"], name
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy", name
        assert service["depends_on"]["redis"]["condition"] == "service_healthy", name
    for name in ("web", "worker", "worker-gpu"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    assert "media" in compose["volumes"]


def test_every_app_variable_is_one_the_settings_read(compose):
    known = variables_read_by_settings() | {"DJANGO_SETTINGS_MODULE"}
    for name in ("migrate", "web", "worker", "worker-gpu"):
        environment = compose["services"][name]["environment"]
        unknown = set(environment) - known
        assert not unknown, f"{name} sets variables no setting reads: {unknown}"
        assert environment["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
        assert environment["DATABASE_URL"].startswith("postgres://")
        assert environment["CELERY_BROKER_URL"].startswith("redis://")
        for required in ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS"):
            assert required in environment


def test_workers_consume_the_queues_the_settings_route_to(compose):
    from django.conf import settings

    services = compose["services"]
    cpu_queues = services["worker"]["command"][-1].split(",")
    gpu_queues = services["worker-gpu"]["command"][-1].split(",")
    assert sorted(cpu_queues) == sorted(settings.CELERY_TASK_QUEUES_CPU)
    assert gpu_queues == settings.CELERY_TASK_QUEUES_GPU


def test_gpu_worker_reserves_an_nvidia_device_and_uses_the_cuda_image(compose):
    gpu = compose["services"]["worker-gpu"]
    device = gpu["deploy"]["resources"]["reservations"]["devices"][0]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    assert gpu["build"]["target"] == "gpu"
    assert gpu["environment"]["SCA_DEVICE"] == "cuda"
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM nvidia/cuda:\S+ AS gpu$", dockerfile, re.MULTILINE)


def test_start_scripts_exist_and_are_executable(compose):
    for service in compose["services"].values():
        command = service.get("command") or []
        if command and command[0].startswith("/app/"):
            script = REPO_ROOT / command[0].removeprefix("/app/")
            assert script.is_file(), script
            assert script.stat().st_mode & 0o111, f"{script} is not executable"
    web_script = (REPO_ROOT / "docker" / "start-web").read_text()
    assert "gunicorn config.wsgi:application" in web_script
