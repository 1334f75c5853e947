"""Lockouts that hold (S12): per account whatever the address, per address for failures only.

A success clears the counter of its own account and nothing else; a password typed while locked
is neither checked nor counted; every form that asks for the current password counts alike.
"""

import re
from datetime import datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from axes.models import AccessAttempt
from django.db.models import Sum
from django.test import Client
from django.urls import reverse

from accounts.models import User
from audit.models import Action, AuditEvent
from tests.factories import PASSWORD, UserFactory, activated_accounts
from tests.signing_in import sign_in_with_password

LOGIN = reverse("accounts:login")
WRONG = "Mauvais-Mot-2031"
NEW_PASSWORD = "Colza-Orge-Luzerne-77"
LOCKED_OUT = "Connexion temporairement bloquée"
PASSWORD_LOCKED = "Mot de passe temporairement bloqué"
VERIFY = "django.contrib.auth.hashers.Argon2PasswordHasher.verify"


def sign_in(client, email, password=PASSWORD, **extra):
    return client.post(LOGIN, {"username": email, "password": password}, **extra)


def failures_of(user) -> int:
    """django-axes' count for the account, as it decides its lockout."""
    return AccessAttempt.objects.filter(username=user.email).aggregate(total=Sum("failures_since_start"))["total"] or 0


def test_a_sign_in_on_the_attackers_own_account_does_not_wipe_the_victims_failures(client, member, outsider):
    """The attack: four guesses on the victim, one right sign-in on one's own account, again and again."""
    answers = []
    for _ in range(3):
        answers += [sign_in(client, member.email, WRONG).status_code for _ in range(4)]
        assert sign_in(Client(), outsider.email).status_code == 302  # the attacker's own account, same address

    assert answers[:4] == [200] * 4
    assert answers[4] == 429, "the fifth failure locks the victim"
    assert set(answers[5:]) == {429}, "and the victim stays locked"
    assert failures_of(member) == 5, "attempts refused while locked are not counted"
    with mock.patch(VERIFY) as verify:
        refused = sign_in(Client(), member.email)
    assert refused.status_code == 429 and verify.call_count == 0
    assert LOCKED_OUT in refused.text
    assert failures_of(member) == 5


def test_interleaved_successes_on_another_account_leave_the_count_whole(client, member, outsider, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        failed = sign_in(client, member.email, WRONG)
        signed_in = sign_in(Client(), outsider.email)
        assert signed_in.status_code == 302, f"the other account signs in after failure {n + 1}"

    assert failed.status_code == 429
    assert sign_in(Client(), member.email).status_code == 429
    assert AuditEvent.objects.filter(action=Action.LOCKED_OUT, actor_label=member.email).exists()


def test_a_sign_in_clears_the_failures_of_its_own_account(client, member, settings):
    """Both steps passed: the password alone clears nothing (tests/twofactor/test_sign_in.py)."""
    for _ in range(2):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            assert sign_in(client, member.email, WRONG).status_code == 200
        assert sign_in_with_password(Client(), member.email).url == reverse("home")

    assert failures_of(member) == 0


def test_an_office_behind_one_address_signs_in_with_its_typos(db):
    """Twenty accountants of a management centre share one address; each mistypes twice, then signs in."""
    accountants = activated_accounts(20)
    User.objects.filter(pk__in=[user.pk for user in accountants]).update(password=UserFactory().password)
    office = {"REMOTE_ADDR": "192.0.2.10"}

    for accountant in accountants:
        browser = Client()
        for _ in range(2):
            assert sign_in(browser, accountant.email, WRONG, **office).status_code == 200
        signed_in = sign_in(browser, accountant.email, **office)
        assert signed_in.status_code == 302, f"{accountant.email} is let in"


def test_failures_from_one_address_lock_it_and_a_success_does_not_clear_them(client, member, outsider, settings):
    limit = settings.LOCKOUT_IP_FAILURE_LIMIT
    assert limit == 50
    for n in range(limit - 1):
        assert sign_in(client, f"inconnu{n}@exemple.fr", WRONG).status_code == 200
    assert sign_in(Client(), outsider.email).status_code == 302, "a success from the address…"

    last = sign_in(client, "inconnu-dernier@exemple.fr", WRONG)
    with mock.patch(VERIFY) as verify:
        refused = sign_in(Client(), member.email)

    assert last.status_code == 429, "…does not clear its failures: the fiftieth locks it"
    assert refused.status_code == 429 and verify.call_count == 0
    assert LOCKED_OUT in refused.text and reverse("accounts:password_reset") in refused.text
    assert sign_in(Client(), member.email, REMOTE_ADDR="198.51.100.7").status_code == 302, "elsewhere, it signs in"


def test_behind_a_proxy_the_address_limit_counts_the_visitor(client, member, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.LOCKOUT_IP_FAILURE_LIMIT = settings.AXES_FAILURE_LIMIT + 2
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for n in range(settings.LOCKOUT_IP_FAILURE_LIMIT):
        sign_in(client, f"inconnu{n}@exemple.fr", WRONG, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.66", **proxy)

    visitor = sign_in(Client(), member.email, HTTP_X_FORWARDED_FOR="203.0.113.66", **proxy)
    other_visitor = sign_in(Client(), member.email, HTTP_X_FORWARDED_FOR="203.0.113.66, 198.51.100.7", **proxy)

    assert visitor.status_code == 429
    assert other_visitor.status_code == 302, "the proxy's entry counts: a forged left-most address changes nothing"


def test_the_right_password_while_locked_is_not_counted_and_the_page_says_when_to_return(client, member, settings):
    paris = ZoneInfo("Europe/Paris")
    with time_machine.travel(datetime(2027, 3, 9, 14, 0, tzinfo=paris), tick=False) as clock:
        for _ in range(settings.AXES_FAILURE_LIMIT):
            sign_in(client, member.email, WRONG)
        clock.shift(timedelta(minutes=5))
        counted = failures_of(member)

        with mock.patch(VERIFY) as verify:
            response = sign_in(Client(), member.email)

        assert response.status_code == 429 and verify.call_count == 0
        assert failures_of(member) == counted == settings.AXES_FAILURE_LIMIT
        page = re.sub(r"\s+", " ", response.text)
        assert "14 h 15" in page, "the lockout ends fifteen minutes after the failure that set it"
        assert reverse("accounts:password_reset") in page and "Mot de passe oublié" in page

        clock.shift(timedelta(minutes=10, seconds=1))
        assert sign_in(Client(), member.email).status_code == 302, "attempts while locked did not prolong it"


def test_a_reset_password_lifts_the_lockout_of_its_account(client, member, outbox, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, member.email, WRONG)
    client.post(reverse("accounts:password_reset"), {"email": member.email})
    link = re.search(r"http://[^/]+(/compte/mot-de-passe-oublie/\S+/)", outbox()[-1].body).group(1)
    form_url = client.get(link).url

    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert sign_in(Client(), member.email, NEW_PASSWORD).status_code == 302


def change_password(password):
    return reverse("accounts:password_change"), {
        "old_password": password,
        "new_password1": NEW_PASSWORD,
        "new_password2": NEW_PASSWORD,
    }


def deactivate(password):
    return reverse("accounts:deactivate"), {"password": password, "confirm": "on"}


def confirm_password(password):
    return reverse("accounts:confirm_password"), {"password": password, "next": reverse("structures:structure_list")}


@pytest.mark.parametrize("form", [change_password, deactivate, confirm_password], ids=lambda form: form.__name__)
def test_wrong_current_passwords_on_a_signed_in_page_lock_the_account(sign_in, member, settings, form):
    """A stolen session cannot guess the password on the pages that ask for it again."""
    browser = sign_in(member, fresh=False)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        wrong = browser.post(*form(WRONG))
        assert wrong.status_code == 200 and "Le mot de passe" in wrong.text and "incorrect" in wrong.text

    locking = browser.post(*form(WRONG))
    with mock.patch(VERIFY) as verify:
        refused = browser.post(*form(PASSWORD))

    assert locking.status_code == 429 and PASSWORD_LOCKED in locking.text
    assert refused.status_code == 429 and verify.call_count == 0
    assert PASSWORD_LOCKED in refused.text and "incorrect" not in refused.text
    assert reverse("accounts:password_reset") in refused.text
    member.refresh_from_db()
    assert member.is_active and member.check_password(PASSWORD), "nothing was changed"
    assert failures_of(member) == settings.AXES_FAILURE_LIMIT
    assert AuditEvent.objects.filter(action=Action.LOCKED_OUT, actor_label=member.email).exists()
    assert Client().post(LOGIN, {"username": member.email, "password": PASSWORD}).status_code == 429


@pytest.mark.parametrize("form", [change_password, deactivate, confirm_password], ids=lambda form: form.__name__)
def test_the_right_current_password_clears_only_its_own_accounts_failures(client, sign_in, member, outsider, form):
    """The attacker's right password on their own account's page leaves the victim's failures counted."""
    for _ in range(4):
        sign_in_failed = client.post(LOGIN, {"username": member.email, "password": WRONG})
        assert sign_in_failed.status_code == 200
    own_page = sign_in(outsider, fresh=False)
    own_page.post(*form(WRONG))

    assert own_page.post(*form(PASSWORD)).status_code == 302
    assert failures_of(outsider) == 0
    assert failures_of(member) == 4
    assert client.post(LOGIN, {"username": member.email, "password": WRONG}).status_code == 429
