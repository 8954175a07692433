"""Management commands: `simulate SPEC.json`, `seed_demo`, `worker`."""

import io
import json

import pytest
from django.core.management import CommandError, call_command


def _call(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = int(exc.code)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def demo_organisation(db):
    from accounts.services import organisation_create

    return organisation_create(name="Demo Oncology", slug="demo")


@pytest.mark.django_db
def test_simulate_refuses_bad_files_with_one_line_per_problem(tmp_path, demo_organisation):
    from trials.models import Trial

    missing = _call("simulate", str(tmp_path / "nope.json"))
    assert missing[0] == 2 and "no such file" in missing[2]
    broken = tmp_path / "broken.json"
    broken.write_text('{"size": ')
    code, _, err = _call("simulate", str(broken))
    assert code == 2 and "not valid JSON" in err and "Traceback" not in err
    invalid = tmp_path / "invalid.json"
    invalid.write_text(
        json.dumps(
            {"size": 0, "seed": -5, "indication": "gbm_newly_diagnosed", "regimen": "stupp_rt_tmz"}
        )
    )
    code, _, err = _call("simulate", str(invalid))
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 2
    assert any("data.size" in line for line in lines) and any("data.seed" in line for line in lines)
    assert not Trial.objects.exists(), "nothing is created for a bad spec"


@pytest.mark.django_db
def test_simulate_launches_a_run_for_the_workers(tmp_path, demo_organisation):
    from audit.models import AuditEvent
    from runs.models import SimulationRun

    path = tmp_path / "stupp.json"
    path.write_text(
        json.dumps(
            {"size": 30, "seed": 1, "indication": "gbm_newly_diagnosed", "regimen": "stupp_rt_tmz"}
        )
    )
    code, out, _ = _call("simulate", str(path), "--trial", "Shell trial")
    assert code == 0 and "30 subjects" in out
    run = SimulationRun.objects.get()
    assert run.status == "queued" and run.trial.name == "Shell trial" and run.chunks.count() >= 2
    launch = AuditEvent.objects.get(action="launch")
    assert launch.client_user_agent == "manage.py simulate"
    assert _call("simulate", str(path), "--organisation", "nowhere")[0] == 2


@pytest.mark.django_db
def test_seed_demo_creates_a_login_per_role_and_a_completed_stupp_run(settings, tmp_path):
    from django.contrib.auth import authenticate

    from accounts.models import Membership
    from runs.models import SimulationRun, Subject

    settings.MEDIA_ROOT = tmp_path
    code, out, _ = _call("seed_demo")
    assert code == 0, out
    memberships = Membership.objects.values_list("organisation__slug", "user__username", "role")
    assert set(memberships) == {
        ("demo", "demo", "designer"),
        ("demo", "demo-auditor", "auditor"),
        ("demo", "demo-admin", "admin"),
        ("demo-network", "demo-admin", "auditor"),
    }
    assert authenticate(username="demo", password="demo-password") is not None
    run = SimulationRun.objects.get()
    assert run.status == "succeeded" and run.trial.name.startswith("Stupp")
    assert Subject.objects.filter(run=run).count() == run.size
    assert run.statistics.data["n_subjects"] == run.size
    again = _call("seed_demo")
    assert again[0] == 0 and SimulationRun.objects.count() == 1 and Membership.objects.count() == 4


def test_worker_refuses_unknown_queues():
    with pytest.raises(CommandError, match="unknown queue"):
        call_command("worker", "--queues", "simulation,gossip")
