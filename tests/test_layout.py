"""The repository layout promises of the brief."""

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_import_platform_from_repo_root_is_the_standard_library():
    probe = "import platform, sys; print(platform.__file__); print(platform.python_version())"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    module_file, version = result.stdout.split()
    assert not Path(module_file).resolve().is_relative_to(REPO_ROOT)
    assert version.startswith("3.")


def test_platform_source_root_is_not_a_package():
    assert (REPO_ROOT / "platform").is_dir()
    assert not (REPO_ROOT / "platform" / "__init__.py").exists()


def test_top_level_layout():
    for name in [
        "platform",
        "simulation",
        "generator",
        "frontend",
        "tests",
        "manage.py",
        "docker-compose.yml",
        "pyproject.toml",
        "Makefile",
        "README.md",
        ".ci/run",
    ]:
        assert (REPO_ROOT / name).exists(), name


def test_no_app_shadows_a_standard_library_module():
    apps = [p.name for p in (REPO_ROOT / "platform").iterdir() if (p / "__init__.py").exists()]
    assert apps, "platform/ holds the Django packages"
    shadowed = sorted(set(apps) & set(sys.stdlib_module_names))
    assert shadowed == []


def test_simulation_and_generator_do_not_import_django():
    offenders = [
        str(path.relative_to(REPO_ROOT))
        for package in ("simulation", "generator")
        for path in (REPO_ROOT / package).rglob("*.py")
        if "import django" in path.read_text() or "from django" in path.read_text()
    ]
    assert offenders == []
