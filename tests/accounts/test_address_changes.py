"""Issue 15, findings 3 and 7: the login and contact addresses change only once the new address confirms a link.

The login address is changed by staff (« Changer l'adresse de connexion » in the admin), the contact
address by its owner after typing the password again; in both cases the address being replaced is
told at once, nothing changes before the link is opened, and the link lives 60 minutes, works once
and only if it is the newest.
"""

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AddressChange, User
from accounts.workflows import request_contact_change
from audit.models import Action, AuditEvent
from tests.accounts.test_races import run_together
from tests.factories import PASSWORD, UserFactory
from tests.signing_in import sign_in_with_password

USERS = reverse("admin:accounts_user_changelist")
PROFILE = reverse("accounts:profile")
CONTACT = reverse("accounts:contact_email_change")
LOGIN = reverse("accounts:login")
LINK = re.compile(r"http://127\.0\.0\.1:8000(/compte/changement-d-adresse/\S+/)")


@pytest.fixture
def caller(db):
    return UserFactory(email="jeanne@exemple.fr", contact_email="compta@earl-martin.fr", first_name="Jeanne")


def ask_login_change(agent, user, new_email):
    """The action from the account's page, then its form, as the agent fills it in."""
    page = reverse("admin:accounts_user_change", args=[user.pk])
    form = agent.post(page, {"CHANGE_FORM-action": "change_login_address", "_selected_action": [user.pk]})
    assert form.status_code == 200 and "Nouvelle adresse de connexion" in form.text
    return agent.post(
        USERS,
        {"action": "change_login_address", "_selected_action": [user.pk], "new_email": new_email},
        follow=True,
    )


def link_in(mail) -> str:
    return LINK.search(mail.body).group(1)


def link_to(outbox, address: str) -> str:
    """The path of the newest confirmation link mailed to `address`."""
    return link_in([mail for mail in outbox() if mail.to == [address] and "Confirmez" in mail.subject][-1])


def open_link(browser, path):
    """As the browser follows it: the token moves into the session, off the URL, before the page renders."""
    response = browser.get(path)
    assert response.status_code == 302
    assert path.split("/")[-2] not in response.url
    return response.url


def confirm(path, browser=None):
    browser = browser or Client()
    page = open_link(browser, path)
    return browser.post(page, follow=True)


def events(action) -> list[tuple]:
    return [(event.actor, event.target, event.details) for event in AuditEvent.objects.filter(action=action)]


# The login address, by staff


def test_the_old_addresses_are_told_at_once_and_nothing_changes_before_the_link(agent, caller, agent_account, outbox):
    response = ask_login_change(agent, caller, "Jeanne.Martin@Nouveau.fr")

    assert "Un lien de confirmation est envoyé à jeanne.martin@nouveau.fr" in response.text
    notices = [mail for mail in outbox() if "demandé" in mail.subject]
    assert sorted(mail.to[0] for mail in notices) == ["compta@earl-martin.fr", "jeanne@exemple.fr"]
    for notice in notices:
        assert notice.subject == "Changement de votre adresse de connexion demandé"
        assert "le support du portail a demandé à changer l'adresse de connexion" in notice.body
        assert "Nouvelle adresse : jeanne.martin@nouveau.fr" in notice.body
        assert "Si vous n'avez pas demandé ce changement au support" in notice.body
        ((html, _),) = notice.alternatives
        assert "jeanne.martin@nouveau.fr" in html
    (link_mail,) = [mail for mail in outbox() if mail.to == ["jeanne.martin@nouveau.fr"]]
    assert link_mail.subject == "Confirmez votre nouvelle adresse de connexion Chorus Pro TIC/TICGN"
    caller.refresh_from_db()
    assert caller.email == "jeanne@exemple.fr"
    # Until the link is opened, she signs in and resets her password at the old address.
    assert Client().post(LOGIN, {"username": "jeanne@exemple.fr", "password": PASSWORD}).status_code == 302
    Client().post(reverse("accounts:password_reset"), {"email": "jeanne@exemple.fr"})
    assert [mail.to for mail in outbox() if "mot de passe" in mail.subject] == [["jeanne@exemple.fr"]]
    assert events(Action.ADDRESS_CHANGE_REQUESTED) == [
        (agent_account, "jeanne@exemple.fr", {"champ": "email", "nouvelle_adresse": "jeanne.martin@nouveau.fr"})
    ]
    assert events(Action.ADDRESS_CHANGED) == []


def test_the_link_puts_the_new_login_address_in_force_and_ends_every_session(agent, caller, outbox):
    elsewhere = Client()
    elsewhere.force_login(caller)
    Client().post(reverse("accounts:password_reset"), {"email": caller.email})
    reset_link = re.search(r"http://127\.0\.0\.1:8000(/compte/mot-de-passe-oublie/\S+/)", outbox()[-1].body).group(1)
    ask_login_change(agent, caller, "jeanne.martin@nouveau.fr")
    path = link_to(outbox, "jeanne.martin@nouveau.fr")
    browser = Client()

    page = browser.get(open_link(browser, path))
    assert "Confirmer la nouvelle adresse" in page.text and "jeanne.martin@nouveau.fr" in page.text
    caller.refresh_from_db()
    assert caller.email == "jeanne@exemple.fr"  # opening the page changes nothing: the button does
    response = browser.post(page.request["PATH_INFO"], follow=True)

    assert response.redirect_chain[-1][0] == LOGIN
    assert "Votre adresse de connexion est désormais jeanne.martin@nouveau.fr" in response.text
    caller.refresh_from_db()
    assert caller.email == "jeanne.martin@nouveau.fr" and caller.contact_email == "compta@earl-martin.fr"
    assert elsewhere.get(PROFILE).status_code == 302  # signed out everywhere
    signed_in = sign_in_with_password(Client(), "jeanne.martin@nouveau.fr")  # the code goes to the new address
    assert signed_in.status_code == 302 and signed_in.url == reverse("home")
    assert "plus valable" in Client().get(reset_link, follow=True).text  # the reset link sent to the old address
    assert events(Action.ADDRESS_CHANGED) == [
        (
            caller,
            "jeanne.martin@nouveau.fr",
            {"champ": "email", "ancienne_adresse": "jeanne@exemple.fr", "nouvelle_adresse": "jeanne.martin@nouveau.fr"},
        )
    ]


def test_the_link_works_once(agent, caller, outbox):
    ask_login_change(agent, caller, "jeanne.martin@nouveau.fr")
    path = link_to(outbox, "jeanne.martin@nouveau.fr")
    confirm(path)
    User.objects.filter(pk=caller.pk).update(email="jeanne@exemple.fr")  # as if nothing had happened

    second = confirm(path)

    # Opened again, it says the change is in place, not that nothing changed, and changes nothing more.
    assert "Cette adresse est déjà confirmée" in second.text
    assert "n'est plus valable" not in second.text
    caller.refresh_from_db()
    assert caller.email == "jeanne@exemple.fr"
    assert len(events(Action.ADDRESS_CHANGED)) == 1


@pytest.mark.parametrize(
    ("after", "works"), [(timedelta(minutes=59, seconds=59), True), (timedelta(minutes=60, seconds=1), False)]
)
def test_the_link_lives_sixty_minutes(agent, caller, outbox, after, works):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        ask_login_change(agent, caller, "jeanne.martin@nouveau.fr")
        path = link_to(outbox, "jeanne.martin@nouveau.fr")
        clock.shift(after)
        response = confirm(path)

    caller.refresh_from_db()
    assert (caller.email == "jeanne.martin@nouveau.fr") is works
    assert ("Ce lien de confirmation n'est plus valable" in response.text) is not works


def test_a_newer_request_voids_the_older_link(agent, caller, outbox):
    ask_login_change(agent, caller, "premiere@nouveau.fr")
    older = link_to(outbox, "premiere@nouveau.fr")
    ask_login_change(agent, caller, "seconde@nouveau.fr")
    newer = link_to(outbox, "seconde@nouveau.fr")

    assert "Ce lien de confirmation n'est plus valable" in confirm(older).text
    caller.refresh_from_db()
    assert caller.email == "jeanne@exemple.fr"
    confirm(newer)
    caller.refresh_from_db()
    assert caller.email == "seconde@nouveau.fr"


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("paul@exemple.fr", "Cette adresse est déjà l&#x27;adresse de connexion d&#x27;un autre compte."),
        ("JEANNE@exemple.fr", "C&#x27;est déjà l&#x27;adresse de connexion de ce compte."),
        ("jeanne@exemple.fr\r\nBcc: x@y.fr", "Saisissez une adresse électronique valide"),
        ("", "Ce champ est obligatoire."),
    ],
)
def test_a_taken_or_invalid_address_is_refused_next_to_the_field_and_nothing_is_mailed(
    agent, caller, outbox, typed, error
):
    UserFactory(email="paul@exemple.fr")

    response = ask_login_change(agent, caller, typed)

    assert response.status_code == 200 and error in response.text
    assert outbox() == [] and not AddressChange.objects.exists()
    assert not AuditEvent.objects.filter(action=Action.ADDRESS_CHANGE_REQUESTED).exists()


def test_an_address_taken_after_the_request_is_refused_when_the_link_is_opened(agent, caller, outbox):
    ask_login_change(agent, caller, "jeanne.martin@nouveau.fr")
    UserFactory(email="jeanne.martin@nouveau.fr")  # signed up with it meanwhile

    response = confirm(link_to(outbox, "jeanne.martin@nouveau.fr"))

    assert "Cette adresse n'est plus disponible" in response.text
    caller.refresh_from_db()
    assert caller.email == "jeanne@exemple.fr"
    assert not AuditEvent.objects.filter(action=Action.ADDRESS_CHANGED).exists()


def test_support_cannot_change_a_staff_accounts_login_address(agent, outbox):
    colleague = UserFactory(email="collegue@exemple.fr", is_staff=True)

    response = agent.post(
        USERS,
        {"action": "change_login_address", "_selected_action": [colleague.pk], "new_email": "agent@pirate.fr"},
        follow=True,
    )

    assert "se change par un superutilisateur" in response.text
    assert outbox() == [] and not AddressChange.objects.exists()


def test_one_account_at_a_time(agent, caller, member, outbox):
    response = agent.post(
        USERS,
        {"action": "change_login_address", "_selected_action": [caller.pk, member.pk], "new_email": "x@nouveau.fr"},
        follow=True,
    )

    assert "Sélectionnez un seul compte." in response.text
    assert outbox() == []


def test_the_agent_sees_the_pending_change_on_the_account_page(agent, caller, outbox):
    ask_login_change(agent, caller, "jeanne.martin@nouveau.fr")

    page = agent.get(reverse("admin:accounts_user_change", args=[caller.pk])).text

    assert "adresse électronique de connexion → jeanne.martin@nouveau.fr" in page
    assert "par agent@exemple.fr, <strong>en attente de confirmation</strong>" in page


# The contact address, by its owner


def test_changing_the_contact_address_asks_for_the_password_when_it_was_not_typed_lately(sign_in, member, outbox):
    browser = sign_in(member, fresh=False)

    response = browser.post(CONTACT, {"contact_email": "pirate@exemple.fr"})

    assert response.status_code == 302
    assert response.url == f"{reverse('accounts:confirm_password')}?next=%2Fcompte%2Fprofil%2Fe-mail-du-contact%2F"
    assert outbox() == [] and not AddressChange.objects.exists()
    page = browser.get(response.url).text
    protected = "le rôle de gestionnaire principal, l'e-mail du contact et l'envoi des demandes de remboursement"
    assert f"{protected} sont protégés" in " ".join(page.split())
    assert f'href="{PROFILE}">Annuler</a>' in page  # back to « Mon profil », where the step began


def test_the_contact_address_changes_once_the_new_one_confirms(sign_in, member, outbox):
    member.contact_email = "ancien@exemple.fr"
    member.save()
    browser = sign_in(member)
    assert 'href="/compte/profil/e-mail-du-contact/"' in browser.get(PROFILE).text

    response = browser.post(CONTACT, {"contact_email": "Bureau@Exemple.fr"}, follow=True)

    assert "Un lien de confirmation est envoyé à bureau@exemple.fr" in response.text
    assert "En attente de confirmation : bureau@exemple.fr" in response.text
    notice, link = sorted(outbox(), key=lambda mail: mail.subject)  # « Changement… », « Confirmez… »
    assert notice.to == ["ancien@exemple.fr"] and notice.subject == "Changement de votre e-mail du contact demandé"
    assert "Nouvelle adresse : bureau@exemple.fr" in notice.body and "changez-le sans attendre" in notice.body
    assert link.to == ["bureau@exemple.fr"]
    member.refresh_from_db()
    assert member.notification_email == "ancien@exemple.fr"  # bank and role warnings still go there

    confirmed = confirm(link_in(link), browser)

    assert "Les notifications du portail vont désormais à bureau@exemple.fr" in confirmed.text
    member.refresh_from_db()
    assert member.contact_email == "bureau@exemple.fr"
    assert browser.get(PROFILE).status_code == 200  # a contact address ends no session
    assert events(Action.ADDRESS_CHANGE_REQUESTED) == [
        (member, member.email, {"champ": "contact_email", "nouvelle_adresse": "bureau@exemple.fr"})
    ]
    assert [details for *_, details in events(Action.ADDRESS_CHANGED)] == [
        {"champ": "contact_email", "ancienne_adresse": "ancien@exemple.fr", "nouvelle_adresse": "bureau@exemple.fr"}
    ]


def test_without_a_contact_address_the_login_address_is_told(sign_in, member, outbox):
    sign_in(member).post(CONTACT, {"contact_email": "bureau@exemple.fr"})

    notice, link = sorted(outbox(), key=lambda mail: mail.subject)  # « Changement… », « Confirmez… »

    assert notice.to == [member.email] and link.to == ["bureau@exemple.fr"]


def test_the_profile_shows_a_pending_change_until_its_link_lapses(sign_in, member, outbox):
    browser = sign_in(member)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        browser.post(CONTACT, {"contact_email": "bureau@exemple.fr"})
        assert "En attente de confirmation : bureau@exemple.fr" in browser.get(PROFILE).text
        clock.shift(timedelta(minutes=60, seconds=1))
        assert "En attente de confirmation" not in browser.get(PROFILE).text


def test_removing_the_contact_address_is_confirmed_by_the_login_address(sign_in, member, outbox):
    member.contact_email = "ancien@exemple.fr"
    member.save()
    browser = sign_in(member)

    browser.post(CONTACT, {"contact_email": ""})

    notice, link = sorted(outbox(), key=lambda mail: mail.subject)  # « Changement… », « Confirmez… »
    assert notice.to == ["ancien@exemple.fr"] and "aucune, les notifications iront" in notice.body
    assert link.to == [member.email]
    member.refresh_from_db()
    assert member.contact_email == "ancien@exemple.fr"
    confirm(link_in(link))
    member.refresh_from_db()
    assert member.contact_email == "" and member.notification_email == member.email


@pytest.mark.parametrize(
    ("contact", "typed", "error"),
    [
        ("ancien@exemple.fr", "ANCIEN@exemple.fr", "C&#x27;est déjà votre e-mail du contact."),
        ("", "", "Vous n&#x27;avez pas d&#x27;e-mail du contact à retirer."),
        ("", "{login}", "Vous n&#x27;avez pas d&#x27;e-mail du contact à retirer."),
        ("", "bureau@exemple.fr\nBcc: x@y.fr", "Saisissez une adresse électronique valide"),
    ],
)
def test_an_unchanged_or_invalid_contact_address_is_refused_next_to_the_field(
    sign_in, member, outbox, contact, typed, error
):
    member.contact_email = contact
    member.save()

    response = sign_in(member).post(CONTACT, {"contact_email": typed.format(login=member.email)})

    assert response.status_code == 200 and error in response.text
    assert response.text.count(error) == 2  # in the summary at the top, and next to the field
    assert outbox() == [] and not AddressChange.objects.exists()


def test_contact_changes_are_limited_per_account(sign_in, member, outbox, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "address_change": 2}
    browser = sign_in(member)
    for n in range(2):
        assert browser.post(CONTACT, {"contact_email": f"bureau{n}@exemple.fr"}).status_code == 302

    response = browser.post(CONTACT, {"contact_email": "bureau9@exemple.fr"})

    assert response.status_code == 200 and "Réessayez dans une heure" in response.text
    assert AddressChange.objects.count() == 2 and len(outbox()) == 4


def test_the_profile_no_longer_changes_the_contact_address(client, member, outbox):
    client.force_login(member)

    response = client.post(
        PROFILE, {"first_name": "Paulo", "last_name": "Membre", "phone": "", "contact_email": "pirate@exemple.fr"}
    )

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.first_name == "Paulo" and member.contact_email == ""
    assert outbox() == []


@pytest.mark.postgres
def test_one_link_confirmed_twice_at_once_changes_the_address_once(postgresql_only, caller):
    path = reverse(
        "accounts:confirm_address_change", args=[request_contact_change(caller, "bureau@exemple.fr").make_token()]
    )
    browsers = [Client() for _ in range(2)]
    pages = [open_link(browser, path) for browser in browsers]

    responses = run_together(*[lambda b=b, p=p: b.post(p) for b, p in zip(browsers, pages, strict=True)])

    assert sorted(response.status_code for response in responses) == [200, 302], (
        responses
    )  # once, then « plus valable »
    caller.refresh_from_db()
    assert caller.contact_email == "bureau@exemple.fr"
    assert AuditEvent.objects.filter(action=Action.ADDRESS_CHANGED).count() == 1
