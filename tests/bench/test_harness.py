"""The benchmark reads each page's server time and query count from a header: it must tell the truth."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.middleware import HEADER


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
