"""R7 on the loopback: what lets two nodes share one PostgreSQL and one Redis.

Each node here is a process of its own, as on two machines: two gunicorn servers, two mail workers.
A session, an account's lockout and a throttle written through one are honoured by the other; when
the mail worker holding the queue is killed, one waiting worker takes the queue over and sends each
mail once. `python -m bench.scale_out` measures the same under load, behind HAProxy, with a node killed.
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from django.conf import settings as django_settings
from django.db import connection
from post_office.models import STATUS, Email

from bench.mailbox import messages
from bench.run import csrf_of, hidden_fields
from chorus import mail
from chorus.management.commands.mail_worker import ADVISORY_LOCK_KEY
from tests.factories import PASSWORD, UserFactory
from tests.signing_in import current_code
from twofactor.devices import email_device

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("postgresql_only")]

ROOT = Path(django_settings.BASE_DIR)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/12")
LOGIN = "/compte/connexion/"
VERIFY = "/compte/double-authentification/"


def database_url() -> str:
    database = connection.settings_dict
    password = f":{database['PASSWORD']}" if database["PASSWORD"] else ""
    return (
        f"postgres://{database['USER']}{password}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}"
        f"/{database['NAME']}"
    )


def node_environment(tmp_path: Path, **extra: str) -> dict:
    """One configuration for every node, as a deployment gives them: the same secret key, database and cache."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",  # plain HTTP on the loopback, mail to files
        "DEBUG": "true",  # static files as they are in the checkout: nothing to collect first
        "SECRET_KEY": "loopback-" + secrets.token_urlsafe(40),
        "DATABASE_URL": database_url(),
        "CACHE_URL": REDIS_URL,
        "BENCH_MAIL_DIR": str(tmp_path / "mail"),
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def wait_for(condition, what: str, timeout: float = 60):
    """Polls `condition` until it holds; a guard against hanging, never a measure of speed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.1)
    pytest.fail(f"{what}: not within {timeout} s")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Two web nodes ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_nodes(django_db_setup, tmp_path_factory):
    """Two gunicorn servers, one worker each, on two loopback ports; a balancer in front is the benchmark's part.

    Started once for the module's tests: each test's rows are committed (`postgresql_only`), which the nodes read.
    """
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://… (CI does)")
    tmp_path = tmp_path_factory.mktemp("nodes")
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as error:
        pytest.skip(f"needs Redis at {REDIS_URL}, the cache the nodes share ({error})")
    (tmp_path / "mail").mkdir()
    env = node_environment(
        tmp_path, TRUSTED_PROXY_COUNT="1", AXES_FAILURE_LIMIT="3", THROTTLE_RESET_PER_HOUR="2", MAIL_SEND_ON_COMMIT="1"
    )
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    nodes = []
    for number in (1, 2):
        port = free_port()
        log = (tmp_path / f"node{number}.log").open("w")
        process = subprocess.Popen(
            [gunicorn, "chorus.wsgi", "--workers", "1", "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        nodes.append((process, f"http://127.0.0.1:{port}"))
    try:
        for process, url in nodes:
            wait_for(lambda url=url, process=process: answers(url, process), f"{url} answering")
        yield [url for _, url in nodes]
    finally:
        for process, _ in nodes:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def answers(url: str, process: subprocess.Popen) -> bool:
    if process.poll() is not None:
        pytest.fail(f"the node at {url} stopped")
    try:
        return requests.get(url + LOGIN, timeout=5).status_code == 200
    except requests.ConnectionError:
        return False


def visitor() -> requests.Session:
    """A browser behind the balancer: the nodes read its address from X-Forwarded-For (one trusted proxy).

    An address of its own for each test keeps its counts apart from any other run's in the shared cache.
    """
    session = requests.Session()
    session.headers["X-Forwarded-For"] = (
        f"198.51.100.{secrets.randbelow(254) + 1}, 203.0.113.{secrets.randbelow(254) + 1}"
    )
    return session


def post_password(browser: requests.Session, node: str, email: str, password: str) -> requests.Response:
    page = browser.get(node + LOGIN)
    data = {"csrfmiddlewaretoken": csrf_of(page.text), "username": email, "password": password}
    return browser.post(node + LOGIN, data, allow_redirects=False)


def test_a_session_opened_on_one_node_is_used_on_the_other(two_nodes):
    node1, node2 = two_nodes
    user = UserFactory(first_name="Annick", last_name="Berthelot")
    browser = visitor()

    password_step = post_password(browser, node1, user.email, PASSWORD)
    assert password_step.status_code == 302 and password_step.headers["Location"].startswith(VERIFY)
    form = browser.get(node1 + password_step.headers["Location"])
    code = current_code(email_device(user))
    code_step = browser.post(
        form.url,
        {"csrfmiddlewaretoken": csrf_of(form.text), **hidden_fields(form.text), "code": code},
        allow_redirects=False,
    )
    assert code_step.status_code == 302 and not code_step.headers["Location"].startswith((VERIFY, LOGIN))

    page = browser.get(node2 + "/organisation/", allow_redirects=False)

    assert page.status_code == 200  # not sent to « Se connecter » nor to the second factor
    assert "Annick Berthelot" in page.text


def test_failed_sign_ins_on_both_nodes_lock_the_account_on_both(two_nodes):
    node1, node2 = two_nodes
    user = UserFactory()
    browser = visitor()

    assert post_password(browser, node1, user.email, "faux-1").status_code == 200
    assert post_password(browser, node2, user.email, "faux-2").status_code == 200
    # Two failures of three: the right password still passes.
    assert post_password(visitor(), node1, user.email, PASSWORD).status_code == 302
    # The third, on node 2, which has seen two: the account is locked, on node 1 too, which has seen one.
    assert post_password(browser, node2, user.email, "faux-3").status_code == 429

    refused = post_password(visitor(), node1, user.email, PASSWORD)

    assert refused.status_code == 429
    assert not refused.headers.get("Location", "").startswith(VERIFY)


def test_a_throttle_counts_the_attempts_made_on_both_nodes(two_nodes):
    """« Mot de passe oublié », two an hour from one address: one on each node, then a third is refused."""
    node1, node2 = two_nodes
    browser = visitor()

    def ask(node: str, n: int) -> requests.Response:
        page = browser.get(node + "/compte/mot-de-passe-oublie/")
        data = {"csrfmiddlewaretoken": csrf_of(page.text), "email": f"inconnu.{n}@exemple.fr"}
        return browser.post(node + "/compte/mot-de-passe-oublie/", data, allow_redirects=False)

    assert ask(node1, 1).status_code == 302
    assert ask(node2, 2).status_code == 302

    third = ask(node1, 3)  # node 1's second: within its own limit, had it counted alone

    assert third.status_code == 200
    assert "Trop de tentatives depuis votre connexion" in third.text


# Two mail workers ---------------------------------------------------------------------------------

# A mail worker in the middle of its pass, as far as the others can tell: it holds the lock, until killed.
HOLD_THE_LOCK = """
import sys, time, psycopg
connection = psycopg.connect(sys.argv[1], autocommit=True)
connection.execute("SELECT pg_advisory_lock(%s)", [int(sys.argv[2])])
print("locked", flush=True)
time.sleep(600)
"""


def test_a_killed_mail_worker_leaves_its_queue_to_one_of_the_waiting_ones(settings, tmp_path):
    settings.MAIL_SEND_ON_COMMIT = False  # as in production: only the workers send
    for n in range(6):
        mail.send("account_deactivated", f"paul{n}@exemple.fr", {"user": {"first_name": "Paul", "email": "x"}})
    (tmp_path / "mail").mkdir()
    env = node_environment(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK, database_url(), str(ADVISORY_LOCK_KEY)], stdout=subprocess.PIPE, text=True
    )
    workers, logs = [], []
    try:
        assert holder.stdout.readline().strip() == "locked"
        for number in (1, 2):
            logs.append(tmp_path / f"worker{number}.log")
            workers.append(
                subprocess.Popen(
                    [sys.executable, "manage.py", "mail_worker", "--interval", "0.2"],
                    cwd=ROOT,
                    env={**env, "PYTHONUNBUFFERED": "1"},
                    stdout=logs[-1].open("w"),
                    stderr=subprocess.STDOUT,
                )
            )
        wait_for(lambda: all("waiting for it to stop" in log.read_text() for log in logs), "both workers waiting")
        assert list((tmp_path / "mail").iterdir()) == []

        holder.kill()  # SIGKILL: no unlock, the lock goes with its connection
        # The pass reports once its last mail is marked sent; killing before the report would lose it.
        wait_for(lambda: any(" sent, " in log.read_text() for log in logs), "a worker's report of its pass")
    finally:
        for process in [holder, *workers]:
            process.kill()
            process.wait(timeout=30)

    written = Counter(
        str(message["Message-ID"]) for path in (tmp_path / "mail").iterdir() for message in messages(path)
    )
    assert sorted(written) == sorted(Email.objects.values_list("message_id", flat=True))
    assert set(written.values()) == {1}
    assert Email.objects.filter(status=STATUS.sent).count() == 6
    reports = [line for log in logs for line in log.read_text().splitlines() if " sent, " in line]
    assert reports == ["6 sent, 0 failed, 0 to retry"]  # one worker sent them all, in one pass
