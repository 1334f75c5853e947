import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.views import INTERNAL_RESET_SESSION_TOKEN
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import workflows
from accounts.models import User
from accounts.tokens import activation_token
from approvals.models import ApprovalRequest
from audit.models import Action, AuditEvent
from structures.models import Membership, Structure
from tests.factories import MembershipFactory, PendingUserFactory, StructureFactory, UserFactory, make_siret

STRONG = "Tracteur-Bleu-Colza-2031"


def activation_path(mail) -> str:
    return re.search(r"http://127\.0\.0\.1:8000(/compte/activer/\S+/)", mail.body).group(1)


@pytest.fixture
def signed_up(client, signup_data, outbox):
    """A farmer who just signed up: (user, path of the link in the mail)."""
    client.post(reverse("accounts:signup"), signup_data())
    mail = next(m for m in outbox() if "Activez" in m.subject)
    return User.objects.get(email="jeanne.martin@exemple.fr"), activation_path(mail)


def open_link(client, path):
    """Follows the link as the browser does: the token moves to the session first."""
    response = client.get(path)
    assert response.status_code == 302 and response.url.endswith("/mot-de-passe/")
    assert path.split("/")[-2] not in response.url, "the token leaves the URL"
    return response.url


def test_the_link_sets_the_password_activates_and_signs_in(client, signed_up):
    user, path = signed_up
    form_url = open_link(client, path)
    page = client.get(form_url).content.decode()
    assert "Veuillez saisir votre nouveau mot de passe" in page
    assert "Complexité requise : 12 caractères minimum" in page
    assert "Niveau de sécurité du mot de passe" in page and "ANNULER" in page and "SOUMETTRE" in page

    response = client.post(form_url, {"new_password1": STRONG, "new_password2": STRONG})

    assert response.status_code == 302 and response.url == reverse("home")
    user.refresh_from_db()
    assert user.is_active and user.has_activated and user.check_password(STRONG)
    assert user.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    home = client.get(reverse("home")).content.decode()
    assert "Bonjour Jeanne" in home and "Votre compte est activé" in home


def test_the_link_works_once(client, signed_up):
    _, path = signed_up
    client.post(open_link(client, path), {"new_password1": STRONG, "new_password2": STRONG})
    client.logout()

    page = client.get(path, follow=True).content.decode()

    assert "est plus valable" in page
    assert "Recevoir un nouveau lien" in page


@pytest.mark.parametrize(
    ("elapsed", "valid"), [(timedelta(minutes=59, seconds=59), True), (timedelta(minutes=60, seconds=1), False)]
)
def test_the_link_lives_sixty_minutes(client, signup_data, outbox, elapsed, valid):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client.post(reverse("accounts:signup"), signup_data())
        path = activation_path(next(m for m in outbox() if "Activez" in m.subject))
        clock.shift(elapsed)

        response = client.get(path, follow=True)

    assert ("Veuillez saisir votre nouveau mot de passe" in response.content.decode()) is valid


def activate(client, path, password=STRONG):
    return client.post(open_link(client, path), {"new_password1": password, "new_password2": password})


def test_activation_creates_the_structure_with_the_user_as_main_manager_and_mails_the_summary(
    client, signed_up, outbox
):
    user, path = signed_up
    before = len(outbox())

    activate(client, path)

    structure = Structure.objects.get(siret=user.signup_siret)
    assert Membership.objects.get(structure=structure).user == user
    assert Membership.objects.get(structure=structure).role == Membership.Role.MAIN_MANAGER
    assert not ApprovalRequest.objects.exists()
    [summary] = outbox()[before:]
    assert summary.to == [user.email] and summary.subject == "Votre compte Chorus Pro TIC/TICGN est activé"
    assert structure.siret in summary.body and "vous en êtes le gestionnaire principal" in summary.body
    events = AuditEvent.objects.filter(action__in=[Action.STRUCTURE_CREATED, Action.MEMBERSHIP_CREATED])
    assert {(event.action, event.actor_id) for event in events} == {
        (Action.STRUCTURE_CREATED, user.pk),
        (Action.MEMBERSHIP_CREATED, user.pk),
    }


def test_activation_with_a_known_siret_files_the_request_and_mails_the_managers_then(
    client, signup_data, manager, second_manager, outbox
):
    structure = manager.memberships.get().structure
    client.post(reverse("accounts:signup"), signup_data(identifier=structure.siret))
    user = User.objects.get(email="jeanne.martin@exemple.fr")
    path = activation_path(next(m for m in outbox() if "Activez" in m.subject))
    assert [m.to for m in outbox()] == [[user.email]]

    activate(client, path)

    request = ApprovalRequest.objects.get()
    assert (request.requester, request.structure, request.state) == (user, structure, "requested")
    assert Structure.objects.count() == 1 and not Membership.objects.filter(user=user).exists()
    mails = outbox()[1:]
    assert sorted(m.to[0] for m in mails) == sorted([manager.email, second_manager.notification_email, user.email])
    to_manager = next(m for m in mails if m.to == [manager.email])
    assert "Jeanne Martin" in to_manager.body and structure.siret in to_manager.subject
    summary = next(m for m in mails if m.to == [user.email])
    assert "votre demande de rattachement a été transmise à ses gestionnaires" in summary.body


def test_a_failure_mid_activation_leaves_the_account_waiting_and_nothing_else(client, signed_up, monkeypatch, outbox):
    user, path = signed_up
    before = len(outbox())

    def broken_mail(*args, **kwargs):
        raise RuntimeError("mail template missing")

    monkeypatch.setattr("accounts.emails.account_summary", broken_mail)

    with pytest.raises(RuntimeError):
        activate(client, path)

    user.refresh_from_db()
    assert not user.is_active and not user.has_usable_password()
    assert not Structure.objects.exists() and not Membership.objects.exists()
    assert not AuditEvent.objects.exists() and len(outbox()) == before


def test_two_accounts_signed_up_with_one_new_siret_the_first_activated_manages_it(client, signup_data, outbox):
    siret = make_siret()
    for email in ["premiere@exemple.fr", "second@exemple.fr"]:
        Client().post(reverse("accounts:signup"), signup_data(email=email, identifier=siret))
    links = {m.to[0]: activation_path(m) for m in outbox() if "Activez" in m.subject}
    assert not Structure.objects.exists()

    activate(Client(), links["second@exemple.fr"])
    activate(Client(), links["premiere@exemple.fr"])

    structure = Structure.objects.get(siret=siret)
    assert structure.memberships.get().user.email == "second@exemple.fr"
    assert ApprovalRequest.objects.get(structure=structure).requester.email == "premiere@exemple.fr"


def test_an_account_without_a_sign_up_siret_is_activated_alone(client, outbox):
    pending = PendingUserFactory()  # signed up before the SIRET was kept, or added by staff

    workflows.activate(pending.pk, activation_token.make_token(pending), STRONG)

    pending.refresh_from_db()
    assert pending.is_active
    assert not Structure.objects.exists() and not ApprovalRequest.objects.exists() and outbox() == []


def test_activation_by_a_user_staff_already_attached_does_not_fail(client, signed_up, outbox):
    user, path = signed_up
    structure = StructureFactory(siret=user.signup_siret)
    MembershipFactory(structure=structure, role=Membership.Role.MAIN_MANAGER)
    MembershipFactory(structure=structure, user=user)

    response = activate(client, path)

    assert response.url == reverse("home")
    assert not ApprovalRequest.objects.exists()


def test_a_newer_link_voids_the_older_ones(client, signed_up, outbox):
    user, old_path = signed_up
    with time_machine.travel(timezone.now() + timedelta(seconds=5)):
        client.post(reverse("accounts:resend_activation"), {"email": user.email})
    new_path = activation_path([m for m in outbox() if "Activez" in m.subject][-1])
    assert new_path != old_path

    assert "plus valable" in client.get(old_path, follow=True).content.decode()
    assert "Veuillez saisir" in client.get(new_path, follow=True).content.decode()


@pytest.mark.parametrize("tamper", [lambda p: p[:-3] + "zz/", lambda p: p.replace("/activer/", "/activer/MQ")])
def test_a_tampered_link_gets_the_clear_page(client, signed_up, tamper):
    _, path = signed_up
    response = client.get(tamper(path), follow=True)
    assert response.status_code == 200
    assert "plus valable" in response.content.decode()


def test_a_reset_token_does_not_activate(client, signed_up):
    from django.contrib.auth.tokens import default_token_generator

    user, path = signed_up
    forged = path.rsplit("/", 2)[0] + f"/{default_token_generator.make_token(user)}/"
    assert "plus valable" in client.get(forged, follow=True).content.decode()


def reset_path(mail) -> str:
    return re.search(r"http://127\.0\.0\.1:8000(/compte/mot-de-passe-oublie/\S+/)", mail.body).group(1)


def test_a_newer_reset_link_voids_the_older_ones(client, outbox):
    user = UserFactory(email="login@exemple.fr")
    client.post(reverse("accounts:password_reset"), {"email": user.email})
    [first] = outbox()
    with time_machine.travel(timezone.now() + timedelta(seconds=5)):
        client.post(reverse("accounts:password_reset"), {"email": user.email})
    [second] = [m for m in outbox() if m is not first]
    old_path, new_path = reset_path(first), reset_path(second)
    assert old_path != new_path

    assert "remplacé par un lien plus récent" in Client().get(old_path, follow=True).content.decode()
    assert "seul le dernier lien demandé fonctionne" in second.body
    browser = Client()
    form_url = browser.get(new_path).url
    response = browser.post(form_url, {"new_password1": STRONG, "new_password2": STRONG})
    assert response.url == reverse("accounts:login")
    user.refresh_from_db()
    assert user.check_password(STRONG)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Court1!abcd", "au minimum 12 caractères"),
        ("abcdefghijklmnop1", "au moins 3 types"),
        ("Ab1!" + "x" * 125, "ne doit pas dépasser 128"),
        ("Azerty123456!", "trop courant"),
        ("Motdepasse2024", "trop courant"),
        ("Jeanne.Martin#2024", "votre nom"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(client, signed_up, password, message):
    user, path = signed_up
    form_url = open_link(client, path)

    response = client.post(form_url, {"new_password1": password, "new_password2": password})

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert message in " ".join(errors["new_password1"]) and "new_password2" not in errors
    page = response.content.decode()
    assert "<title>Erreur – " in page
    count = len(errors["new_password1"])
    assert f"Le formulaire contient {count} erreur{'s' if count > 1 else ''}" in page
    assert "Entrez le mot de passe : " in page and "mot de passe : :" not in page
    user.refresh_from_db()
    assert not user.is_active


def test_a_password_containing_the_siret_is_refused(client, signed_up):
    user, path = signed_up
    password = f"Ferme-{user.signup_siret}!"
    response = client.post(open_link(client, path), {"new_password1": password, "new_password2": password})
    assert "votre SIRET" in " ".join(response.context["form"].errors["new_password1"])


def test_a_128_character_password_is_kept_whole(client, signed_up):
    user, path = signed_up
    password = " Ab1!" + "é" * 122 + " "
    assert len(password) == 128
    client.post(open_link(client, path), {"new_password1": password, "new_password2": password})
    user.refresh_from_db()
    assert user.check_password(password) and not user.check_password(password.strip())


def test_mismatched_confirmation_is_refused(client, signed_up):
    _, path = signed_up
    response = client.post(open_link(client, path), {"new_password1": STRONG, "new_password2": STRONG + "x"})
    assert "ne sont pas identiques" in " ".join(response.context["form"].errors["new_password2"])


def test_the_token_is_checked_again_inside_the_transaction(db):
    user = PendingUserFactory()
    with pytest.raises(workflows.LinkExpired):
        workflows.activate(user.pk, "forged-token", STRONG)
    user.refresh_from_db()
    assert not user.is_active


@pytest.mark.parametrize("email", ["jeanne.martin@exemple.fr", "inconnu@exemple.fr", "active@exemple.fr"])
def test_resend_answers_the_same_for_any_address(client, signed_up, outbox, email):
    UserFactory(email="active@exemple.fr")
    before = len(outbox())

    response = client.post(reverse("accounts:resend_activation"), {"email": email}, follow=True)

    assert response.redirect_chain == [(reverse("accounts:resend_activation_done"), 302)]
    assert "un nouveau lien vient d'y être envoyé" in response.content.decode()
    sent = len(outbox()) - before
    assert sent == (1 if email == "jeanne.martin@exemple.fr" else 0)


def test_the_session_holds_the_token_not_the_url(client, signed_up):
    _, path = signed_up
    open_link(client, path)
    assert client.session[INTERNAL_RESET_SESSION_TOKEN] == path.split("/")[-2]
