"""Launch a run from a spec file: `manage.py simulate SPEC.json --organisation demo`.

Exit status 2 with one line per problem for a bad file or spec; nothing is created then.
"""

import json
import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Organisation
from audit.services import ClientInfo
from runs.models import SimulationRun
from runs.services import run_execute_inline, run_launch
from trials.models import Trial
from trials.services import spec_create, trial_create
from trials.spec_validation import spec_normalise

POLL_INTERVAL_S = 1.0


class Command(BaseCommand):
    help = "Validate a cohort spec file and launch a simulation run of it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("spec_path", type=Path)
        parser.add_argument("--organisation", default="demo", help="Organisation slug.")
        parser.add_argument(
            "--trial", default="Command-line runs", help="Trial name (created if missing)."
        )
        parser.add_argument("--user", default="", help="Acting username (for the audit trail).")
        parser.add_argument("--reason", default="", help="Why (recorded with the spec version).")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--wait", action="store_true", help="Wait for the workers to finish.")
        mode.add_argument(
            "--inline", action="store_true", help="Simulate in this process (no workers needed)."
        )

    def _fail(self, lines: list[str]) -> None:
        for line in lines:
            self.stderr.write(line)
        raise SystemExit(2)

    def handle(
        self,
        *args,
        spec_path: Path,
        organisation: str,
        trial: str,
        user: str,
        reason: str,
        wait: bool,
        inline: bool,
        **options,
    ) -> None:
        try:
            data = json.loads(spec_path.read_text())
        except FileNotFoundError:
            self._fail([f"{spec_path}: no such file"])
        except (OSError, UnicodeDecodeError) as exc:
            self._fail([f"{spec_path}: cannot read: {exc}"])
        except json.JSONDecodeError as exc:
            self._fail(
                [f"{spec_path}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"]
            )
        try:
            spec_normalise(data)
        except ValidationError as exc:
            self._fail(
                [
                    f"{spec_path}: {field}: {message}"
                    for field, messages in exc.message_dict.items()
                    for message in messages
                ]
            )
        org = Organisation.objects.filter(slug=organisation).first()
        if org is None:
            self._fail([f"--organisation: no organisation with slug {organisation!r}"])
        actor = None
        if user:
            actor = get_user_model().objects.filter(username=user).first()
            if actor is None:
                self._fail([f"--user: no user {user!r}"])
        client = ClientInfo.tool("manage.py simulate")
        trial_obj = Trial.objects.filter(organisation=org, name=trial).first() or trial_create(
            organisation=org, actor=actor, name=trial, client=client
        )
        spec = spec_create(trial=trial_obj, actor=actor, data=data, reason=reason, client=client)
        run = run_launch(
            spec=spec, actor=actor, name=spec_path.name, client=client, dispatch=not inline
        )
        self.stdout.write(
            f"Run {run.pk}: {run.size} subjects in {run.chunks_total} chunks "
            f"(trial {trial_obj.name!r}, spec v{spec.version})"
        )
        if inline:
            run = run_execute_inline(run_id=run.pk)
        elif wait:
            run = self._wait(run.pk)
        else:
            return
        self.stdout.write(f"Run {run.pk} {run.status}" + (f": {run.error}" if run.error else ""))
        if run.status != "succeeded":
            raise CommandError(f"run {run.pk} {run.status}")

    def _wait(self, run_id: int) -> SimulationRun:
        last = -1.0
        while True:
            run = SimulationRun.objects.get(pk=run_id)
            if run.progress != last:
                self.stdout.write(f"  {run.status} {100 * run.progress:.0f}%")
                last = run.progress
            if run.is_terminal:
                return run
            time.sleep(POLL_INTERVAL_S)
