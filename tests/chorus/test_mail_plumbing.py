import io
import smtplib
import threading

import psycopg
from django.core.mail.backends import locmem
from django.core.management import call_command
from django.db import connection, connections
from post_office.models import STATUS, Email

from chorus import mail
from chorus.management.commands.mail_worker import ADVISORY_LOCK_KEY, Command


def test_a_queued_mail_reaches_the_outbox_once_the_worker_runs(db, outbox):
    mail.send("account_deactivated", "paul@exemple.fr", {"user": {"first_name": "Paul", "email": "paul@exemple.fr"}})
    assert outbox() and outbox()[0].to == ["paul@exemple.fr"]
    assert len(outbox()) == 1


def test_a_second_mail_worker_waits_for_the_first_on_postgresql(postgresql_only):
    """Two workers would read the same queue and send each mail twice: the second one waits."""
    params = connection.get_connection_params()
    first = psycopg.connect(**{key: value for key, value in params.items() if key not in {"cursor_factory", "context"}})
    first.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
    output = io.StringIO()
    got_the_lock = threading.Event()

    def second_worker():
        try:
            if Command(stdout=output).hold_the_lock(interval=0.05):
                got_the_lock.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=second_worker)
    thread.start()
    try:
        assert not got_the_lock.wait(0.5)
        assert "Another mail worker is running" in output.getvalue()
    finally:
        first.close()  # the first worker stops: its lock goes with its connection
    thread.join(10)
    assert got_the_lock.is_set()


def test_a_one_off_pass_sends_nothing_while_the_worker_runs(postgresql_only, mailoutbox, settings):
    settings.MAIL_SEND_ON_COMMIT = False  # as in production: only the worker sends
    mail.send("account_deactivated", "paul@exemple.fr", {"user": {"first_name": "Paul", "email": "paul@exemple.fr"}})
    params = connection.get_connection_params()
    running = psycopg.connect(
        **{key: value for key, value in params.items() if key not in {"cursor_factory", "context"}}
    )
    running.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
    output = io.StringIO()
    try:
        call_command("mail_worker", "--once", stdout=output)
        assert "Another mail worker is running: nothing sent." in output.getvalue()
        assert mailoutbox == []
    finally:
        # Unlocked before closing: the server ends a closed session's backend, and frees its locks, a moment later.
        running.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])
        running.close()

    call_command("mail_worker", "--once", stdout=io.StringIO())

    assert [message.to for message in mailoutbox] == [["paul@exemple.fr"]]


class StatusWatchingBackend(locmem.EmailBackend):
    """Notes, at each send, which mails the database already counts as sent; refuses one address."""

    seen = []

    def send_messages(self, messages):
        sent_already = sorted(email.to[0] for email in Email.objects.filter(status=STATUS.sent))
        for message in messages:
            StatusWatchingBackend.seen.append((message.to[0], sent_already))
            if message.to[0] == "refuse@exemple.fr":
                raise smtplib.SMTPRecipientsRefused({"refuse@exemple.fr": (550, b"no")})
        return super().send_messages(messages)


def test_each_mail_is_marked_sent_as_soon_as_it_leaves_so_a_killed_worker_resends_none(db, settings):
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.StatusWatchingBackend"}}
    StatusWatchingBackend.seen = []
    for address in ("un@exemple.fr", "refuse@exemple.fr", "trois@exemple.fr"):
        mail.send("account_deactivated", address, {"user": {"first_name": "Paul", "email": address}})

    assert mail.deliver_queued() == (2, 0, 1)

    # Each mail found the ones sent before it already marked sent: a worker killed after any
    # send leaves only the mails not yet sent for the next one.
    order = [address for address, _ in StatusWatchingBackend.seen]
    assert sorted(order) == ["refuse@exemple.fr", "trois@exemple.fr", "un@exemple.fr"]
    for position, (_, sent_already) in enumerate(StatusWatchingBackend.seen):
        assert sent_already == sorted(earlier for earlier in order[:position] if earlier != "refuse@exemple.fr")
    assert any(sent_already for _, sent_already in StatusWatchingBackend.seen)
    statuses = {email.to[0]: email.status for email in Email.objects.all()}
    assert statuses == {
        "un@exemple.fr": STATUS.sent,
        "refuse@exemple.fr": STATUS.requeued,
        "trois@exemple.fr": STATUS.sent,
    }
    refused = Email.objects.get(status=STATUS.requeued)
    assert refused.number_of_retries == 1
    assert refused.logs.get().exception_type == "SMTPRecipientsRefused"
