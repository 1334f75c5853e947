import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "a-long-random-production-secret-for-the-settings-test-0123456789",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
    "ALLOWED_HOSTS": "tic.example.fr",
    "SITE_URL": "https://tic.example.fr",
    "PAYMENT_DEBTOR_NAME": "DGFIP - Remboursement TIC TICGN agricole",
    "PAYMENT_DEBTOR_IBAN": "FR1420041010050500013M02606",
    "PAYMENT_DEBTOR_BIC": "PSSTFRPPXXX",
}


def manage(*args, **env):
    # A clean production environment: none of the test run's own settings, nor the
    # async-safety switch that the browser tests turn off in this process.
    leftovers = {*PRODUCTION, "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SETTINGS_MODULE"}
    environment = {key: value for key, value in os.environ.items() if key not in leftovers}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize(
    "missing", ["SECRET_KEY", "CACHE_URL", "PAYMENT_DEBTOR_NAME", "PAYMENT_DEBTOR_IBAN", "PAYMENT_DEBTOR_BIC"]
)
def test_production_refuses_to_start_without_its_secrets(missing):
    env = {key: value for key, value in PRODUCTION.items() if key != missing}

    result = manage("check", **env)

    assert result.returncode != 0
    assert f"ImproperlyConfigured: {missing} is not set" in result.stderr


def test_development_pays_from_the_example_account():
    show = "from django.conf import settings; print(settings.PAYMENT_DEBTOR_IBAN)"

    result = manage("shell", "-c", show, DEBUG="true")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "FR7630001007941234567890185"


def test_production_settings_pass_the_deployment_checklist(tmp_path):
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION, DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3"
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
