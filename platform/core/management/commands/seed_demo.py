"""Demo data for `make run` (idempotent): an organisation, one login per role, and a Stupp
control-arm trial with a completed small run; a second organisation where demo-admin is an
auditor, so the header's organisation switcher shows. Refused under production settings.

Logins (documented demo passwords, for the embedded run only):
    demo / demo-password                  designer
    demo-auditor / demo-auditor-password  auditor (read-only)
    demo-admin / demo-admin-password      organisation admin (and auditor of the second one)
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password"  # noqa: S105 - documented demo login for the embedded run only
DEMO_ORGANISATION = ("Demo Oncology", "demo")
#: A second organisation, (name, slug, username, role): one user in two shows the switcher.
DEMO_SECOND_ORGANISATION = ("Demo Neuro-Oncology Network", "demo-network", "demo-admin", "auditor")
DEMO_USERS = (  # (username, password, role)
    (DEMO_USERNAME, DEMO_PASSWORD, "designer"),
    ("demo-auditor", "demo-auditor-password", "auditor"),
    ("demo-admin", "demo-admin-password", "admin"),
)
DEMO_TRIAL = "Stupp control arm (EORTC 26981/NCIC CE.3)"
#: RT + temozolomide, newly diagnosed GBM (Stupp et al., NEJM 2005); small so seeding is quick.
DEMO_SPEC = {
    "size": 8,
    "seed": 2005,
    "indication": "gbm_newly_diagnosed",
    "regimen": "stupp_rt_tmz",
    "follow_up_months": 24,
}


class Command(BaseCommand):
    help = "Create the demo organisation, logins per role and a Stupp trial with a run."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-run",
            action="store_true",
            help="Skip simulating the demo run (seconds per subject).",
        )

    def handle(self, *args, no_run: bool = False, **options) -> None:
        if (settings.SETTINGS_MODULE or "").endswith(".production"):
            self.stderr.write("seed_demo is for development and demos, not production.")
            raise SystemExit(2)
        from accounts.models import Membership, Organisation
        from accounts.services import membership_set, organisation_create
        from audit.services import ClientInfo
        from runs.models import SimulationRun
        from runs.services import run_execute_inline, run_launch
        from trials.models import Trial
        from trials.services import spec_create, trial_create

        client = ClientInfo.tool("manage.py seed_demo")
        name, slug = DEMO_ORGANISATION
        with transaction.atomic():
            organisation = Organisation.objects.filter(slug=slug).first() or organisation_create(
                name=name, slug=slug, client=client
            )
        user_model = get_user_model()
        users = {}
        for username, password, role in DEMO_USERS:
            user, created = user_model.objects.get_or_create(
                username=username, defaults={"email": f"{username}@example.org"}
            )
            if created:
                user.set_password(password)
                user.save(update_fields=["password"])
            if not Membership.objects.filter(
                user=user, organisation=organisation, role=role
            ).exists():
                membership_set(user=user, organisation=organisation, role=role, client=client)
            users[role] = user
            self.stdout.write(f"Demo login: {username} / {password} ({role})")
        name, slug, username, role = DEMO_SECOND_ORGANISATION
        with transaction.atomic():
            second = Organisation.objects.filter(slug=slug).first() or organisation_create(
                name=name, slug=slug, client=client
            )
        user = user_model.objects.get(username=username)
        if not Membership.objects.filter(user=user, organisation=second, role=role).exists():
            membership_set(user=user, organisation=second, role=role, client=client)
        self.stdout.write(
            f"Demo login: {username} is also {role} of {name!r} (switch in the header)"
        )

        trial = Trial.objects.filter(organisation=organisation, name=DEMO_TRIAL).first()
        if trial is None:
            trial = trial_create(
                organisation=organisation,
                actor=users["designer"],
                name=DEMO_TRIAL,
                phase="3",
                client=client,
                description="Synthetic control arm: RT 60 Gy + temozolomide.",
            )
        spec = trial.specs.order_by("version").first() or spec_create(
            trial=trial, actor=users["designer"], data=DEMO_SPEC, client=client
        )
        if no_run:
            return
        run = SimulationRun.objects.filter(spec=spec, status="succeeded").first()
        if run is None:
            self.stdout.write(f"Simulating the demo run ({DEMO_SPEC['size']} subjects)...")
            run = SimulationRun.objects.filter(spec=spec, status__in=["queued", "running"]).first()
            run = run or run_launch(
                spec=spec, actor=users["designer"], name="demo", client=client, dispatch=False
            )
            run = run_execute_inline(run_id=run.pk)
        self.stdout.write(f"Demo trial {trial.name!r}: run {run.pk} {run.status}")
