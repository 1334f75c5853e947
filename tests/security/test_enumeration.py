"""No account enumeration: what a visitor sees, and what the server spends, never tells whether an address exists.

Responses are compared whole, once the per-request values (CSRF token,
captcha key, CSP nonce) are blanked; cost is counted in password-hasher
calls, the only expensive step (as django-allauth's tests do), never timed.
Second order (QUALITY S13): nor does anything a later visitor or a structure's
manager sees before activation, and the work done before the answer leaves is
the same queries and templates whatever the account (`python -m bench.timing`
measures the times themselves).
"""

import difflib
import re
from unittest import mock

import pytest
from django.contrib.auth.hashers import get_hasher
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.test import Client, RequestFactory
from django.test.signals import template_rendered
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from approvals.models import ApprovalRequest
from structures.models import Structure
from tests.factories import PASSWORD, PendingUserFactory, UserFactory, make_siret

ADDRESSES = {
    "unknown": "inconnu@exemple.fr",
    "active": "actif@exemple.fr",
    "never_activated": "attente@exemple.fr",
    "deactivated": "parti@exemple.fr",
}
PER_REQUEST = [
    r'name="csrfmiddlewaretoken" value="[^"]+"',
    r'name="captcha_0"[^>]*value="[^"]+"',
    r"/captcha/(image|audio)/[0-9a-f]+/",
    r'nonce="[^"]+"',
    r'data-refresh-url="[^"]*"',
    r"\b\d{14}\b",  # the SIRET typed at sign-up, a new one each time
]


@pytest.fixture
def accounts(db):
    UserFactory(email=ADDRESSES["active"])
    PendingUserFactory(email=ADDRESSES["never_activated"])
    UserFactory(email=ADDRESSES["deactivated"], is_active=False)


def seen(response, email: str) -> tuple:
    """What the visitor gets: status, where it leads, the page with per-request values and the typed address blanked."""
    body = response.content.decode().replace(email, "@")
    for pattern in PER_REQUEST:
        body = re.sub(pattern, "…", body)
    return response.status_code, response.get("Location"), body


def hashes(send) -> tuple:
    """(response, number of password hashes computed or checked while answering)."""
    hasher_class = type(get_hasher())
    with (
        mock.patch.object(hasher_class, "encode", autospec=True, side_effect=hasher_class.encode) as encode,
        mock.patch.object(hasher_class, "verify", autospec=True, side_effect=hasher_class.verify) as verify,
    ):
        response = send()
    return response, encode.call_count + verify.call_count


def answers(send) -> dict:
    """Each kind of address → (what is seen, followed page seen, hashes); a new browser for each."""
    results = {}
    for kind, email in ADDRESSES.items():
        client = Client()
        response, cost = hashes(lambda client=client, email=email: send(client, email))
        followed = seen(client.get(response["Location"]), email) if response.status_code == 302 else None
        results[kind] = (seen(response, email), followed, cost)
    return results


def assert_all_alike(results: dict):
    reference = results["unknown"]
    for kind, result in results.items():
        difference = "\n".join(
            line
            for line in difflib.unified_diff(str(reference).split("\\n"), str(result).split("\\n"), lineterm="", n=0)
            if line[:1] in "+-"
        )
        assert result == reference, f"« {kind} » answers differently from an unknown address:\n{difference}"


def test_sign_in_failures_are_alike_whatever_the_account(accounts):
    wrong = "Mauvais-Mot-2031"
    results = answers(
        lambda client, email: client.post(reverse("accounts:login"), {"username": email, "password": wrong})
    )
    assert_all_alike(results)
    assert results["unknown"][2] == 1  # one hash even for an unknown address


def test_a_right_password_on_an_unusable_account_fails_like_any_other(accounts):
    results = answers(
        lambda client, email: client.post(reverse("accounts:login"), {"username": email, "password": PASSWORD})
    )
    del results["active"]  # the one that signs in
    assert_all_alike(results)


def test_forgotten_password_is_alike_whatever_the_account(accounts):
    assert_all_alike(answers(lambda client, email: client.post(reverse("accounts:password_reset"), {"email": email})))


def test_resend_activation_is_alike_whatever_the_account(accounts):
    assert_all_alike(
        answers(lambda client, email: client.post(reverse("accounts:resend_activation"), {"email": email}))
    )


def test_sign_up_is_alike_whatever_the_account(accounts, signup_data):
    def sign_up(client, email):
        return client.post(reverse("accounts:signup"), signup_data(email=email))  # a new SIRET each time

    assert_all_alike(answers(sign_up))


# Second order: what the next visitor and the structure's manager see (S13)


def test_a_second_sign_up_with_the_siret_reads_the_same_after_a_taken_or_a_free_address(accounts, signup_data):
    """A taken address with a new SIRET created no structure, so a second sign-up read « Votre structure est créée »."""
    recaps = {}
    for kind in ["unknown", "active"]:
        siret = make_siret()
        first, second = Client(), Client()
        first.post(reverse("accounts:signup"), signup_data(email=ADDRESSES[kind], identifier=siret))
        second.post(reverse("accounts:signup"), signup_data(email="associe@exemple.fr", identifier=siret))
        recaps[kind] = (
            seen(first.get(reverse("accounts:signup_done")), ADDRESSES[kind]),
            seen(second.get(reverse("accounts:signup_done")), "associe@exemple.fr"),
        )

    assert_all_alike(recaps)
    assert "Votre structure sera créée à l'activation de votre compte" in recaps["active"][1][2]
    assert not Structure.objects.exists()


def test_a_managers_queue_is_the_same_whether_the_addresses_she_signs_up_are_registered(
    accounts, manager, sign_in, signup_data
):
    """A main manager signing candidate addresses up with her own SIRET saw only unregistered ones reach her queue."""
    siret = manager.memberships.get().structure.siret
    queue = sign_in(manager)

    def seen_in_queue():
        return seen(queue.get(reverse("approvals:approval_list")), "@")

    before = seen_in_queue()
    results = {}
    for kind, email in ADDRESSES.items():
        Client().post(reverse("accounts:signup"), signup_data(email=email, identifier=siret))
        results[kind] = seen_in_queue()

    assert_all_alike({"before": before, **results})
    assert not ApprovalRequest.objects.exists()


# Second order: the work done before the answer leaves (S13's « timing beyond noise »)


def _normalised(sql: str) -> str:
    """A statement with its values and savepoint names blanked: which table, which clause, not which row."""
    sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
    return re.sub(r"\b\d+\b", "#", re.sub(r'"s\w+_x\d+"', "savepoint", sql))


def before_the_answer(path: str, data: dict) -> tuple[list[str], list[str]]:
    """Posts as a WSGI server does, the response first and its close() after (which runs the deferred steps).

    Returns the statements run and the templates rendered until the response was
    ready to leave: what the visitor's waiting time is made of.
    """
    browser = Client()
    browser.get(path)
    token = browser.cookies["csrftoken"].value
    environ = RequestFactory().post(path, {**data, "csrfmiddlewaretoken": token}).environ
    environ["HTTP_COOKIE"] = f"csrftoken={token}"
    templates = []

    def rendered(sender, template, **kwargs):
        templates.append(template.name)

    # As Django's test client does: the test's transaction keeps its connection open.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        template_rendered.connect(rendered)
        with CaptureQueriesContext(connection) as queries:
            response = WSGIHandler()(environ, lambda status, headers: None)
        template_rendered.disconnect(rendered)
        assert response.status_code == 302, response.status_code
        response.close()
    finally:
        template_rendered.disconnect(rendered)
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return [_normalised(query["sql"]) for query in queries], templates


def mails_since(outbox, before: int) -> list[tuple[str, str]]:
    return [(m.to[0], m.subject) for m in outbox()[before:]]


@pytest.mark.parametrize(
    ("path", "sent"),
    [
        (
            "accounts:password_reset",
            {
                "active": "Choisir un nouveau mot de passe Chorus Pro TIC/TICGN",
                "never_activated": "Activez votre compte Chorus Pro TIC/TICGN",
            },
        ),
        ("accounts:resend_activation", {"never_activated": "Activez votre compte Chorus Pro TIC/TICGN"}),
    ],
)
def test_reset_and_resend_do_the_same_work_before_answering_and_mail_after(accounts, outbox, path, sent):
    work, mails = {}, {}
    for kind, email in ADDRESSES.items():
        before = len(outbox())
        work[kind] = before_the_answer(reverse(path), {"email": email})
        mails[kind] = mails_since(outbox, before)

    assert_all_alike(work)
    assert mails == {kind: [(email, sent[kind])] if kind in sent else [] for kind, email in ADDRESSES.items()}


def test_sign_up_does_the_same_work_before_answering_and_mails_after(accounts, signup_data, outbox):
    work, mails = {}, {}
    for kind in ["unknown", "active"]:
        before = len(outbox())
        work[kind] = before_the_answer(reverse("accounts:signup"), signup_data(email=ADDRESSES[kind]))
        mails[kind] = mails_since(outbox, before)

    assert_all_alike(work)
    assert mails == {
        "unknown": [(ADDRESSES["unknown"], "Activez votre compte Chorus Pro TIC/TICGN")],
        "active": [(ADDRESSES["active"], "Tentative d'inscription avec votre adresse")],
    }
