"""`make run`'s embedded SQLite database with ten managers deciding at once: no 500, each request decided once (R8).

The portal runs as `make run` serves it (runserver, one thread per request) on a
database file of its own, in a subprocess; ten browsers post their decisions at the
same instant.
"""

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
import requests
from django.conf import settings
from django.db import connection

pytestmark = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the embedded default's settings (WAL, immediate transactions) are SQLite's"
)

BROWSERS = 10
# A structure, its main manager and a second manager, ten people asking to join it, and a
# signed-in session for each browser (the managers take turns).
SEED = f"""
import json
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from structures.models import Membership
from tests.signing_in import second_factor_device
from tests.factories import ApprovalRequestFactory, MembershipFactory, StructureFactory, UserFactory

farm = StructureFactory()
managers = [
    MembershipFactory(structure=farm, role=role).user
    for role in (Membership.Role.MAIN_MANAGER, Membership.Role.MANAGER)
]
requests = [ApprovalRequestFactory(structure=farm, requester=UserFactory()).pk for _ in range({BROWSERS})]
sessions = []
for n in range({BROWSERS}):
    browser = Client()
    browser.force_login(managers[n % 2])
    session = browser.session  # the second factor passed too
    session[DEVICE_ID_SESSION_KEY] = second_factor_device(managers[n % 2]).persistent_id
    session.save()
    sessions.append(browser.cookies["sessionid"].value)
print(json.dumps({{"requests": requests, "sessions": sessions}}))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def portal(tmp_path):
    """The portal on a fresh SQLite file, served by runserver; yields its address, the seed and the file.

    What the server printed (a traceback for each 500) is left in `server.log` beside the file.
    """
    database = tmp_path / "db.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chorus.settings",
        "DATABASE_URL": f"sqlite:///{database}",
        "DEBUG": "true",
        "MAIL_SEND_ON_COMMIT": "false",  # the mails stay queued, to be counted
    }
    manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], env=env, check=True, capture_output=True)
    seeded = subprocess.run([*manage, "shell", "-c", SEED], env=env, check=True, capture_output=True, text=True)
    seed = json.loads(seeded.stdout.strip().splitlines()[-1])
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    address = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                requests.get(address, timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.1)
        yield address, seed, database
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def test_ten_managers_deciding_at_once_get_no_error_and_each_request_is_decided_once(portal):
    address, seed, database = portal
    requests_ids = seed["requests"]
    barrier = threading.Barrier(BROWSERS)
    statuses = [None] * BROWSERS

    def decide(n: int) -> None:
        """Browser n approves (even) or refuses (odd) request n, then the next request the other way."""
        browser = requests.Session()
        browser.cookies.set("sessionid", seed["sessions"][n])
        posts = []
        for pk, approve in [(requests_ids[n], n % 2 == 0), (requests_ids[(n + 1) % BROWSERS], n % 2 == 1)]:
            page = browser.get(f"{address}/approbations/{pk}/", timeout=30)
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
            action = "approuver" if approve else "refuser"
            posts.append((f"{address}/approbations/{pk}/{action}/", {"csrfmiddlewaretoken": token, "reason": "Non."}))
        barrier.wait()
        statuses[n] = [browser.post(url, data, allow_redirects=False, timeout=60).status_code for url, data in posts]

    threads = [threading.Thread(target=decide, args=(n,)) for n in range(BROWSERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    errors = sorted(set(re.findall(r"^\w+\.\w+\.\w+\.\w+: .*$", (database.parent / "server.log").read_text(), re.M)))
    failed = sum(status != 302 for pair in statuses for status in pair or [None, None])
    assert statuses == [[302, 302]] * BROWSERS, f"{failed} of {2 * BROWSERS} decisions failed: {statuses} {errors}"
    with sqlite3.connect(database) as db:
        states = dict(db.execute("SELECT id, state FROM approvals_approvalrequest"))
        attached = {row[0] for row in db.execute("SELECT user_id FROM structures_membership WHERE role = 'user'")}
        requesters = dict(db.execute("SELECT id, requester_id FROM approvals_approvalrequest"))
        mails = db.execute("SELECT COUNT(*) FROM post_office_email").fetchone()[0]
    assert sorted(states) == sorted(requests_ids) and set(states.values()) <= {"approved", "refused"}
    assert attached == {requesters[pk] for pk, state in states.items() if state == "approved"}
    assert mails == BROWSERS  # one decision mail per request
