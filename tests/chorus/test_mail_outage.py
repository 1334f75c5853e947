"""QUALITY R2: an SMTP outage during sign-ups delays mail but loses none.

A real SMTP server (aiosmtpd) listens on loopback; Django's SMTP backend sits
behind post-office, and mail goes the production way: the sign-up form queues
it in its transaction (MAIL_SEND_ON_COMMIT off) and `manage.py mail_worker
--once` plays one pass of the worker.
"""

import random
import socket
from collections import Counter
from datetime import timedelta
from email import message_from_bytes, policy
from io import StringIO
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from post_office.models import STATUS, Email, Log
from post_office.settings import get_max_retries, get_retry_timedelta

from tests.factories import UserFactory, make_siret

SIGNUP = reverse("accounts:signup")
RECAP = reverse("accounts:signup_done")
EMAILS = reverse("admin:post_office_email_changelist")
ACTIVATION_SUBJECT = "Activez votre compte Chorus Pro TIC/TICGN"


class Inbox:
    """aiosmtpd handler: keeps every message the server accepts, as (recipients, parsed message)."""

    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((tuple(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        return "250 Message accepted for delivery"

    def by_subject(self, subject):
        return [(to, message) for to, message in self.received if message["Subject"] == subject]


class SmtpServer:
    """A loopback SMTP server that can go down and come back on the same port."""

    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.inbox = Inbox()
        self.controller = None

    def start(self):
        # A stopped Controller has closed its event loop: each start needs a new one.
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp(settings):
    """The portal's mail goes through the real SMTP backend to this server, as in production."""
    server = SmtpServer()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": server.port, "timeout": 10},
        }
    }
    settings.MAIL_SEND_ON_COMMIT = False  # production: only the worker talks to SMTP
    yield server
    server.stop()


def worker_pass() -> str:
    """One pass of the production worker; returns what it printed."""
    out = StringIO()
    call_command("mail_worker", "--once", stdout=out)
    return out.getvalue().strip()


def statuses() -> Counter:
    return Counter(Email.objects.values_list("status", flat=True))


def test_an_smtp_outage_during_signups_delays_the_mail_but_loses_none(
    transactional_db, client, signup_data, smtp, time_machine
):
    smtp.start()
    smtp.stop()  # the server goes down: connections to its port are refused
    rng = random.Random(2026)
    addresses = [f"agriculteur.{n:02}@exemple.fr" for n in range(20)]
    sirets = [make_siret(rng) for _ in addresses]
    assert len(set(sirets)) == len(sirets)

    for address, siret in zip(addresses, sirets, strict=True):
        response = client.post(SIGNUP, signup_data(email=address, identifier=siret))
        assert (response.status_code, response.url) == (302, RECAP)
    assert client.get(RECAP).status_code == 200

    # Committed: accounts and their activation links (the summary of the account follows activation).
    assert get_user_model().objects.filter(email__in=addresses, is_active=False).count() == 20
    assert statuses() == {STATUS.queued: 20}

    # The worker's pass fails: every mail stays, scheduled for a retry.
    failed_at = timezone.now()
    assert worker_pass() == "0 sent, 0 failed, 20 to retry"
    assert statuses() == {STATUS.requeued: 20}
    assert set(Email.objects.values_list("number_of_retries", flat=True)) == {1}
    retry_at = failed_at + get_retry_timedelta()
    assert all(abs(e.scheduled_time - retry_at) < timedelta(seconds=30) for e in Email.objects.all())
    assert Log.objects.filter(status=STATUS.failed).count() == 20
    assert smtp.inbox.received == []

    # Back on the same port; nothing is due before the retry interval.
    smtp.start()
    assert worker_pass() == ""
    assert smtp.inbox.received == []

    time_machine.move_to(retry_at + timedelta(seconds=1))
    assert worker_pass() == "20 sent, 0 failed, 0 to retry"
    assert statuses() == {STATUS.sent: 20}

    activations = smtp.inbox.by_subject(ACTIVATION_SUBJECT)
    assert len(activations) == 20
    assert Counter(to for to, _ in activations) == Counter((address,) for address in addresses)
    assert len(smtp.inbox.received) == 20

    # The delayed link still works.
    _, message = activations[0]
    body = message.get_body(preferencelist=("plain",)).get_content()
    link = next(word for word in body.split() if "/compte/activer/" in word)
    response = client.get(urlsplit(link).path)
    assert response.status_code == 302 and response.url.endswith("/mot-de-passe/")

    # Nothing is sent twice, now or at the next retry time.
    assert worker_pass() == ""
    time_machine.move_to(retry_at + 2 * get_retry_timedelta())
    assert worker_pass() == ""
    assert len(smtp.inbox.received) == 20


def test_staff_see_queued_retried_and_failed_mail_in_the_admin(db, client, signup_data, smtp, time_machine):
    support = UserFactory(email="support@exemple.fr", is_staff=True)
    support.user_permissions.add(*Permission.objects.filter(codename__in=["view_email", "change_email"]))
    response = client.post(SIGNUP, signup_data(email="en.panne@exemple.fr"))  # SMTP down from the start
    assert (response.status_code, response.url) == (302, RECAP)
    client.force_login(support)

    def listed(status):
        response = client.get(EMAILS, {"status__exact": status})
        assert response.status_code == 200
        # Rows of the changelist whose recipient column shows the address.
        return response.content.decode().count('<td class="field-to_display">en.panne@exemple.fr</td>')

    assert listed(STATUS.queued) == 1 and listed(STATUS.sent) == 0

    assert worker_pass() == "0 sent, 0 failed, 1 to retry"
    assert listed(STATUS.requeued) == 1 and listed(STATUS.queued) == 0

    # Every retry fails: after MAX_RETRIES of them the mail is failed for good...
    start = timezone.now()
    for retry in range(1, get_max_retries() + 1):
        time_machine.move_to(start + retry * (get_retry_timedelta() + timedelta(seconds=1)))
        last = retry == get_max_retries()
        assert worker_pass() == ("0 sent, 1 failed, 0 to retry" if last else "0 sent, 0 failed, 1 to retry")
    client.force_login(support)  # a day later: the morning's session has expired
    assert listed(STATUS.failed) == 1 and listed(STATUS.requeued) == 0
    assert statuses() == {STATUS.failed: 1}
    assert Log.objects.filter(status=STATUS.failed).count() == get_max_retries() + 1

    # ...still stored: staff requeue it once SMTP is back, and it goes out once.
    smtp.start()
    client.post(EMAILS, {"action": "requeue", "_selected_action": list(Email.objects.values_list("pk", flat=True))})
    assert listed(STATUS.queued) == 1
    assert worker_pass() == "1 sent, 0 failed, 0 to retry"
    assert worker_pass() == ""
    assert [message["Subject"] for _, message in smtp.inbox.received] == [ACTIVATION_SUBJECT]
    assert listed(STATUS.sent) == 1
