"""The django-allauth project that `python -m bench.peer` measures our sign-up and sign-in beside: it loads, it
serves its pages in French with sign-in by e-mail, and it hashes a password as the portal does."""

import json
import os
import subprocess
import sys
from pathlib import Path

from accounts.hashers import PortalArgon2PasswordHasher

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = "bench.allauth_peer.settings"

# Run in a process of its own: the peer's settings are not the suite's.
SERVE_PAGES = """
import json

import django

django.setup()

from django.contrib.auth.hashers import get_hasher
from django.core.management import call_command
from django.test import Client

call_command("migrate", verbosity=0)
client = Client(HTTP_HOST="127.0.0.1")
pages = {path: client.get(path) for path in ("/banc-d-essai/", "/accounts/signup/", "/accounts/login/")}
hasher = get_hasher()
print(json.dumps({
    "status": {path: response.status_code for path, response in pages.items()},
    "html": {path: response.content.decode() for path, response in pages.items()},
    "hasher": [hasher.algorithm, hasher.time_cost, hasher.memory_cost, hasher.parallelism],
}))
"""


def peer_environment(tmp_path: Path) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'peer.sqlite3'}",
        "CACHE_URL": "locmemcache://",
    }


def test_the_peer_project_passes_djangos_checks(tmp_path):
    command = [sys.executable, "manage.py", "check", "--settings", SETTINGS]

    run = subprocess.run(command, cwd=ROOT, env=peer_environment(tmp_path), capture_output=True, text=True, timeout=120)

    assert run.returncode == 0, run.stderr
    assert "no issues" in run.stdout


def test_the_peer_serves_its_bare_sign_up_and_sign_in_pages_and_hashes_as_the_portal(tmp_path):
    run = subprocess.run(
        [sys.executable, "-c", SERVE_PAGES],
        cwd=ROOT,
        env=peer_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert run.returncode == 0, run.stderr
    served = json.loads(run.stdout.strip().splitlines()[-1])
    assert served["status"] == {"/banc-d-essai/": 200, "/accounts/signup/": 200, "/accounts/login/": 200}
    bare, signup, login = served["html"].values()
    assert bare.count("<h1") == 1 and "<form" not in bare
    assert "Création de compte" in signup
    assert 'type="email" name="email"' in signup and 'name="password1"' in signup and 'name="password2"' in signup
    assert 'type="email" name="login"' in login and 'name="password"' in login
    portal = PortalArgon2PasswordHasher
    assert served["hasher"] == [portal.algorithm, portal.time_cost, portal.memory_cost, portal.parallelism]
