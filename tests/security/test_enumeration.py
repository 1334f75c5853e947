"""No account enumeration: what a visitor sees, and what the server spends, never tells whether an address exists.

Responses are compared whole, once the per-request values (CSRF token,
captcha key, CSP nonce) are blanked; cost is counted in password-hasher
calls, the only expensive step (as django-allauth's tests do), never timed.
"""

import difflib
import re
from unittest import mock

import pytest
from django.contrib.auth.hashers import get_hasher
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, PendingUserFactory, UserFactory

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
