"""The public surface: every name in harness.__all__ resolves, and importing harness stays
light (no boto3, psycopg or Kubernetes client until a name that needs them is used)."""

from __future__ import annotations

import subprocess
import sys

import harness


def test_every_public_name_resolves() -> None:
    for name in harness.__all__:
        assert getattr(harness, name) is not None, name


def test_import_is_light() -> None:
    code = (
        "import sys, harness; heavy = {'boto3', 'psycopg', 'kubernetes', 'lightkube'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
