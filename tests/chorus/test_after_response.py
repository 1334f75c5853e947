"""`chorus.mail.after_response`: a step left for once the response has gone, as the WSGI server closes it."""

from contextlib import contextmanager

from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from chorus.mail import after_response


@contextmanager
def serving():
    """One request's life as the server signals it (the database is left alone, as the test client does)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        request_started.send(sender=None)
        yield
        request_finished.send(sender=None)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_outside_a_request_the_step_runs_at_once():
    done = []

    after_response(done.append, "lien")

    assert done == ["lien"]


def test_steps_run_after_the_response_in_order_and_a_failure_stops_none_of_the_others(caplog):
    done = []

    def broken(address):
        raise RuntimeError("gabarit manquant")

    with serving():
        after_response(done.append, "premier")
        after_response(broken, "jeanne@exemple.fr")
        after_response(done.append, "second")
        assert done == [], "nothing before the response has gone"

    assert done == ["premier", "second"]
    assert "broken, run after the response, failed" in caplog.text and "gabarit manquant" in caplog.text
    assert "jeanne@exemple.fr" not in caplog.text
    after_response(done.append, "ensuite")  # the request is over: at once again
    assert done[-1] == "ensuite"
