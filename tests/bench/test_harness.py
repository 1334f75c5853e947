"""The benchmark reads each page's server time and query count from a header: it must tell the truth."""

import json
import subprocess
import sys
from pathlib import Path

from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.middleware import HEADER

ROOT = Path(__file__).resolve().parents[2]


def test_the_server_timing_header_counts_every_query_of_the_page(client, settings, manager):
    settings.MIDDLEWARE = ["bench.middleware.ServerTiming", *settings.MIDDLEWARE]
    client.force_login(manager)

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/organisation/structures/")

    app_ms, db_ms, count = HEADER.fullmatch(response["Server-Timing"]).groups()
    assert int(count) == len(queries) > 0
    assert 0 < float(db_ms) <= float(app_ms)


def test_the_baseline_page_is_the_base_template_around_one_heading(client, settings, db):
    settings.ROOT_URLCONF = "bench.urls"  # its template comes with the bench app, which the test settings install

    page = client.get("/banc-d-essai/").content.decode()

    assert page.count("<h1") == 1 and "Page de référence" in page
    assert 'class="fr-header"' in page and 'class="fr-footer"' in page


def test_the_timing_script_times_every_case_from_outside_and_writes_its_figures(tmp_path):
    """`python -m bench.timing` (QUALITY S13's timing), a short run: every try answered, every figure written."""
    figures = tmp_path / "timing.json"
    command = [sys.executable, "-m", "bench.timing", "--tries", "3", "--json", str(figures)]

    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)

    assert run.returncode == 0, run.stderr
    assert "gap between the medians of the answers" in run.stdout
    steps = json.loads(figures.read_text())["steps"]
    assert {step: set(result["cases"]) for step, result in steps.items()} == {
        "« Mot de passe oublié »": {"unknown address", "active account", "never activated"},
        "« Recevoir un nouveau lien »": {"unknown address", "never activated"},
        "« Créer mon compte »": {"free address", "taken address"},
    }
    for result in steps.values():
        for case in result["cases"].values():
            # The server is idle only after the answer has left and its deferred work is done.
            assert 0 < case["answer_median_ms"] <= case["until_idle_median_ms"]
