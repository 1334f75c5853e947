"""Races on PostgreSQL: several requests at once, one winner, no error."""

import re
import threading

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse

from accounts.models import User
from approvals.models import ApprovalRequest
from structures.models import Membership, Structure
from tests.factories import make_siret

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("postgresql_only")]


def run_together(*tasks):
    """Starts every task at the same instant, each on its own connection; returns their results."""
    barrier = threading.Barrier(len(tasks))
    results = [None] * len(tasks)

    def run(index, task):
        try:
            barrier.wait()
            results[index] = task()
        except Exception as error:  # a 500 would surface here
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, task)) for i, task in enumerate(tasks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def activation_paths(mails) -> dict[str, str]:
    """The path of each activation link mailed, by address."""
    return {
        m.to[0]: re.search(r"http://127\.0\.0\.1:8000(/compte/activer/\S+/)", m.body).group(1)
        for m in mails
        if "Activez" in m.subject
    }


def test_sign_ups_with_one_new_siret_make_accounts_and_nothing_else(signup_data):
    siret = make_siret()
    forms = [signup_data(email=f"associe{n}@exemple.fr", identifier=siret) for n in range(4)]

    responses = run_together(*[lambda f=f: Client().post(reverse("accounts:signup"), f) for f in forms])

    assert [r.status_code for r in responses] == [302] * 4, responses
    assert User.objects.filter(signup_siret=siret, is_active=False).count() == 4
    assert not Structure.objects.exists() and not ApprovalRequest.objects.exists()


def test_activations_with_one_new_siret_make_one_structure_and_one_main_manager(signup_data, outbox):
    siret = make_siret()
    for n in range(4):
        Client().post(reverse("accounts:signup"), signup_data(email=f"associe{n}@exemple.fr", identifier=siret))
    browsers = {email: Client() for email in activation_paths(outbox())}
    form_urls = {email: browsers[email].get(path).url for email, path in activation_paths(outbox()).items()}
    password = "Tracteur-Bleu-Colza-2031"

    responses = run_together(
        *[
            lambda b=browsers[email], u=url: b.post(u, {"new_password1": password, "new_password2": password})
            for email, url in form_urls.items()
        ]
    )

    assert [r.status_code for r in responses] == [302] * 4, responses
    assert {r.url for r in responses} == {reverse("home")}
    structure = Structure.objects.get(siret=siret)
    [main_manager] = Membership.objects.filter(structure=structure, role="main_manager")
    requests = ApprovalRequest.objects.filter(structure=structure, state="requested")
    assert requests.count() == 3 and main_manager.user_id not in requests.values_list("requester", flat=True)
    to_main_manager = [m for m in outbox() if m.to == [main_manager.user.email] and "rattachement" in m.subject]
    assert len(to_main_manager) == 3


def test_sign_ups_with_one_address_make_one_account(signup_data):
    forms = [signup_data(email="meme@exemple.fr") for _ in range(3)]

    responses = run_together(*[lambda f=f: Client().post(reverse("accounts:signup"), f) for f in forms])

    assert [r.status_code for r in responses] == [302] * 3, responses
    assert User.objects.filter(email="meme@exemple.fr").count() == 1


def refusal_or_redirect(response) -> str:
    """Where a submission of the link ended. The later one is refused either by the workflow's row lock (a redirect
    to the invalid-link page) or, if the first has already committed when it arrives, by the link check that opens
    the page (the same page, shown at once)."""
    if response.status_code == 302:
        return response.url
    assert "Lien d'activation invalide" in response.content.decode().replace("&#x27;", "'"), response.status_code
    return reverse("accounts:activation_invalid")


def test_one_activation_link_submitted_twice_at_once_activates_once(signup_data, outbox):
    Client().post(reverse("accounts:signup"), signup_data())
    mail = next(m for m in outbox() if "Activez" in m.subject)
    path = re.search(r"http://127\.0\.0\.1:8000(/compte/activer/\S+/)", mail.body).group(1)
    browsers = [Client(), Client()]
    form_urls = [browser.get(path).url for browser in browsers]
    passwords = ["Tracteur-Bleu-Colza-2031", "Moissonneuse-Verte-88"]

    responses = run_together(
        *[
            lambda b=b, u=u, p=p: b.post(u, {"new_password1": p, "new_password2": p})
            for b, u, p in zip(browsers, form_urls, passwords, strict=True)
        ]
    )

    outcomes = [refusal_or_redirect(r) for r in responses]
    assert sorted(outcomes) == sorted([reverse("home"), reverse("accounts:activation_invalid")])
    user = User.objects.get()
    assert user.is_active
    winner = passwords[outcomes.index(reverse("home"))]
    assert user.check_password(winner)
