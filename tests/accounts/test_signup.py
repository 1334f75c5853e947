from html import unescape

import pytest
from django.urls import reverse

from accounts.models import User
from approvals.models import ApprovalRequest
from structures.models import Membership, Structure
from tests.factories import PendingUserFactory, StructureFactory, UserFactory

SIGNUP = reverse("accounts:signup")
RECAP = reverse("accounts:signup_done")


def test_the_form_shows_the_memento_labels(client, db):
    page = unescape(client.get(SIGNUP).content.decode())
    for label in [
        "Informations personnelles",
        "Adresse électronique de connexion",
        "Ressaisissez votre adresse électronique de connexion",
        "Prénom",
        "Téléphone",
        "E-mail du contact",
        "J'accepte que mon nom, prénom et adresse électronique soient utilisés",
        "J'accepte les conditions",
        "Informations sur la structure",
        "Type d'identifiant",
        "Veuillez renseigner le siret de la structure.",
        "Les champs obligatoires sont marqués d'un astérisque rouge.",
        "Créer mon compte",
    ]:
        assert label in page, label
    assert 'alt="Image de sécurité' in page


def test_sign_up_records_the_account_and_its_siret_and_mails_the_activation_link(client, signup_data, outbox):
    data = signup_data(identifier="732 829 320 00074")

    response = client.post(SIGNUP, data)

    assert response.status_code == 302 and response.url == RECAP
    user = User.objects.get(email="jeanne.martin@exemple.fr")
    assert not user.is_active and not user.has_usable_password()
    assert user.phone == "+33612345678" and user.signup_siret == "73282932000074"
    assert user.terms_accepted_at is not None and user.terms_version
    # The structure waits for activation: before it, nobody can tell this account exists.
    assert not Structure.objects.exists() and not Membership.objects.exists() and not ApprovalRequest.objects.exists()

    recap = unescape(client.get(RECAP).content.decode())
    assert "Votre structure sera créée à l'activation de votre compte" in recap
    assert "60 minutes" in recap and "73282932000074" in recap

    [activation] = outbox()
    assert activation.to == ["jeanne.martin@exemple.fr"]
    assert "Activez votre compte" in activation.subject
    assert "http://127.0.0.1:8000/compte/activer/" in activation.body
    assert "60 minutes" in activation.alternatives[0].content


def test_a_known_siret_says_the_request_will_reach_its_manager_once_the_account_is_activated(
    client, signup_data, manager, outbox
):
    structure = manager.memberships.get().structure

    response = client.post(SIGNUP, signup_data(identifier=structure.siret))

    assert response.status_code == 302
    user = User.objects.get(email="jeanne.martin@exemple.fr")
    assert user.signup_siret == structure.siret
    assert not ApprovalRequest.objects.exists() and not Membership.objects.filter(user=user).exists()
    recap = unescape(client.get(RECAP).content.decode())
    assert "Une demande de rattachement sera transmise aux gestionnaires de la structure" in recap
    assert "Dès l'activation de votre compte" in recap
    assert [m.to for m in outbox()] == [[user.email]], "the manager hears of it at activation"


def test_a_taken_address_answers_the_same_and_warns_its_owner(client, signup_data, outbox):
    owner = UserFactory(email="jeanne.martin@exemple.fr")
    fresh = client.post(SIGNUP, signup_data(email="nouvelle@exemple.fr"))
    fresh_recap = client.get(RECAP)
    client.cookies.clear()

    taken = client.post(SIGNUP, signup_data(email="Jeanne.Martin@Exemple.fr"))
    taken_recap = client.get(RECAP)

    assert (taken.status_code, taken.url) == (fresh.status_code, fresh.url)
    assert taken_recap.status_code == fresh_recap.status_code == 200
    assert "Votre structure sera créée" in unescape(taken_recap.content.decode())
    assert User.objects.filter(email="jeanne.martin@exemple.fr").count() == 1
    assert not Structure.objects.exists()
    warning = [m for m in outbox() if m.to == [owner.email]]
    assert len(warning) == 1 and "Tentative d'inscription" in warning[0].subject


def test_the_recap_without_a_sign_up_sends_back_to_the_form(client, db):
    assert client.get(RECAP).url == SIGNUP


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"email_confirmation": "autre@exemple.fr"}, "email_confirmation", "ne sont pas identiques"),
        ({"email": "jeanne@exemple.fr\r\nBcc: x@y.fr"}, "email", "adresse électronique valide"),
        ({"email": "pas-une-adresse"}, "email", "adresse électronique valide"),
        ({"first_name": "J" * 300}, "first_name", "150 caractères"),
        ({"last_name": "   "}, "last_name", "Saisissez votre nom"),
        ({"identifier": "7328293200007"}, "identifier", "exactement 14 chiffres"),
        ({"identifier": "7328293200007A"}, "identifier", "que des chiffres"),
        ({"identifier": "73282932000075"}, "identifier", "clé de contrôle"),
        ({"identifier": ""}, "identifier", "Saisissez le SIRET"),
        ({"captcha_1": "zzzzz"}, "captcha", "ne correspondent pas"),
        ({"accept_terms": None}, "accept_terms", "accepter les conditions"),
        ({"phone": "12"}, "phone", "numéro de téléphone valide"),
        ({"identifier_type": "siren"}, "identifier_type", "Sélectionnez un choix valide"),
    ],
)
def test_bad_input_is_named_next_to_its_field_and_saves_nothing(client, signup_data, overrides, field, message):
    data = signup_data(**overrides)

    response = client.post(SIGNUP, data)

    assert response.status_code == 200
    form = response.context["form"]
    assert message in " ".join(form.errors[field])
    page = unescape(response.content.decode())
    assert page.count(message) >= 2, "next to the field and in the summary"
    assert "<title>Erreur – " in page
    assert not User.objects.exists() and not Structure.objects.exists()


def test_bad_input_keeps_what_was_typed_but_the_captcha(client, signup_data):
    data = signup_data(identifier="123", first_name="Éloïse")

    page = client.post(SIGNUP, data).content.decode()

    assert 'value="Éloïse"' in page and 'value="jeanne.martin@exemple.fr"' in page and 'value="123"' in page
    assert f'value="{data["captcha_1"]}"' not in page


def test_a_captcha_serves_once(client, signup_data):
    data = signup_data()
    assert client.post(SIGNUP, data).status_code == 302
    client.cookies.clear()

    replay = client.post(SIGNUP, {**data, "email": "x@exemple.fr", "email_confirmation": "x@exemple.fr"})

    assert "captcha" in replay.context["form"].errors
    assert User.objects.count() == 1


def test_posted_fields_outside_the_form_change_nothing(client, signup_data):
    client.post(SIGNUP, signup_data(is_staff="on", is_active="on", is_superuser="on", role="main_manager"))

    user = User.objects.get()
    assert not (user.is_staff or user.is_active or user.is_superuser)


def test_a_failure_mid_step_leaves_no_half_saved_account(client, signup_data, monkeypatch, caplog, outbox):
    """The account is made after the answer: a failure there is logged, and leaves nothing behind."""

    def broken_mail(*args, **kwargs):
        raise RuntimeError("mail template missing")

    monkeypatch.setattr("accounts.emails.activation_link", broken_mail)

    response = client.post(SIGNUP, signup_data())

    assert (response.status_code, response.url) == (302, RECAP)  # the account is made once the answer has left
    assert not User.objects.exists() and not Structure.objects.exists() and not Membership.objects.exists()
    assert outbox() == []
    assert "_create_account, run after the response, failed" in caplog.text
    assert "jeanne.martin" not in caplog.text, "no address in the log"


def test_a_recap_stored_by_an_older_version_of_the_page_sends_back_to_the_form(client, db):
    session = client.session
    session["registration"] = {"email": "x@exemple.fr", "siret": "73282932000074", "structure_created": True}
    session.save()

    assert client.get(RECAP).url == SIGNUP


def test_a_signed_in_user_is_sent_home(client, member):
    client.force_login(member)
    assert client.get(SIGNUP).url == reverse("home")


def test_sign_up_is_limited_per_ip(client, signup_data, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "signup": 2}
    for n in range(2):
        client.post(SIGNUP, signup_data(email=f"a{n}@exemple.fr"))

    response = client.post(SIGNUP, signup_data(email="a3@exemple.fr"))

    assert response.status_code == 200 and "Trop de tentatives" in response.content.decode()
    assert not User.objects.filter(email="a3@exemple.fr").exists()


def test_a_pending_requester_cannot_file_a_second_live_request(db):
    from django.db import IntegrityError

    pending = PendingUserFactory()
    structure = StructureFactory()
    ApprovalRequest.objects.create(requester=pending, structure=structure)
    with pytest.raises(IntegrityError):
        ApprovalRequest.objects.create(requester=pending, structure=structure)
