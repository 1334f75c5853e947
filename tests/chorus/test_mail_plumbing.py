import io
import threading

import psycopg
from django.core.management import call_command
from django.db import connection, connections

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
