#!/usr/bin/env python
"""Django's command-line utility.

`platform/` is a source root, not a package: putting it on sys.path (as cookiecutter-django does
with its inner folder) makes `config`, `core`, ... importable while `import platform` stays the
standard-library module.
"""

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent

if __name__ == "__main__":
    sys.path[:0] = [str(REPO_ROOT / "platform"), str(REPO_ROOT)]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.development")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
