import re
from datetime import timedelta
from io import StringIO
from unittest import mock

import pytest
from django.contrib.auth.hashers import get_hasher
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from structures.models import Structure
from tests.factories import PASSWORD, MembershipFactory, PendingUserFactory, StructureFactory, UserFactory
from tests.signing_in import sign_in_with_password

LOGIN = reverse("accounts:login")
FAILURE = "Adresse électronique de connexion ou mot de passe incorrect, ou compte non activé."


def sign_in(client, email, password=PASSWORD, **extra):
    return client.post(LOGIN, {"username": email, "password": password, **extra})


def test_a_member_signs_in_with_any_case_and_the_session_key_rotates(client, member):
    client.get(LOGIN)
    before = client.session.session_key

    response = sign_in_with_password(client, member.email.upper())

    assert response.status_code == 302 and response.url == reverse("home")
    assert client.session.session_key != before
    assert int(client.session["_auth_user_id"]) == member.pk


@pytest.mark.parametrize("case", ["unknown", "wrong_password", "never_activated", "deactivated"])
def test_sign_in_failures_read_the_same_and_cost_one_hash(client, db, case):
    UserFactory(email="actif@exemple.fr")
    PendingUserFactory(email="attente@exemple.fr")
    UserFactory(email="parti@exemple.fr", is_active=False)
    email, password = {
        "unknown": ("inconnu@exemple.fr", PASSWORD),
        "wrong_password": ("actif@exemple.fr", "Mauvais-Mot-2031"),
        "never_activated": ("attente@exemple.fr", PASSWORD),
        "deactivated": ("parti@exemple.fr", PASSWORD),
    }[case]
    hasher = get_hasher()

    with (
        mock.patch.object(type(hasher), "encode", autospec=True, side_effect=type(hasher).encode) as encode,
        mock.patch.object(type(hasher), "verify", autospec=True, side_effect=type(hasher).verify) as verify,
    ):
        response = sign_in(client, email, password)

    assert response.status_code == 200
    assert FAILURE in response.content.decode().replace("&#x27;", "'")
    assert encode.call_count + verify.call_count == 1


def test_failed_sign_ins_lock_the_account_before_any_hashing(client, member, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, member.email, "Mauvais-Mot-2031")

    with mock.patch("django.contrib.auth.hashers.Argon2PasswordHasher.verify") as verify:
        response = sign_in(client, member.email, PASSWORD)

    assert response.status_code == 429
    assert verify.call_count == 0
    page = response.content.decode()
    assert "Connexion temporairement bloquée" in page and reverse("accounts:password_reset") in page


def test_failed_sign_ins_lock_the_account_from_any_ip_and_any_case(client, member, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, member.email.upper(), "Mauvais-Mot-2031", REMOTE_ADDR=f"203.0.113.{n}")

    response = client.post(LOGIN, {"username": member.email.title(), "password": PASSWORD}, REMOTE_ADDR="198.51.100.7")

    assert response.status_code == 429


def test_the_admin_has_no_password_form_of_its_own(client, db):
    """Staff sign in on the portal's page (its lockout, then the second factor): the admin's reads nothing posted."""
    boss = UserFactory(email="boss@exemple.fr", is_staff=True, is_superuser=True)

    response = client.post(reverse("admin:login"), {"username": boss.email, "password": PASSWORD})

    assert response.status_code == 302 and response.url.startswith(LOGIN)
    assert "_auth_user_id" not in client.session


def test_a_lockout_lifts_after_its_cool_off(client, member, settings):
    import time_machine

    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, member.email, "Mauvais-Mot-2031")
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        response = sign_in(client, member.email, PASSWORD)
    assert response.status_code == 302


def test_next_cannot_send_off_site(client, member):
    response = sign_in_with_password(client, member.email, next_url="https://fraude.example.com/")
    assert response.url == reverse("home")


def test_next_within_the_portal_is_followed(client, member):
    response = sign_in_with_password(client, member.email, next_url=reverse("accounts:profile"))
    assert response.url == reverse("accounts:profile")


def test_sign_out_is_a_post(client, member):
    client.force_login(member)
    assert client.get(reverse("accounts:sign_out")).status_code == 405
    response = client.post(reverse("accounts:sign_out"))
    assert response.url == reverse("home") and "_auth_user_id" not in client.session


def reset_link(mail) -> str:
    return re.search(r"http://127\.0\.0\.1:8000(/compte/mot-de-passe-oublie/\S+/)", mail.body).group(1)


def test_forgotten_password_mails_the_login_address_and_sets_a_new_one(client, outbox, db):
    user = UserFactory(email="login@exemple.fr", contact_email="contact@exemple.fr")

    response = client.post(reverse("accounts:password_reset"), {"email": "LOGIN@exemple.fr"})

    assert response.url == reverse("accounts:password_reset_done")
    (mail,) = outbox()
    assert mail.to == ["login@exemple.fr"]
    form_url = client.get(reset_link(mail)).url
    new = "Colza-Orge-Luzerne-77"
    response = client.post(form_url, {"new_password1": new, "new_password2": new})
    assert response.url == LOGIN
    user.refresh_from_db()
    assert user.check_password(new)
    assert "plus valable" in client.get(reset_link(mail), follow=True).content.decode()


@pytest.mark.parametrize("email", ["login@exemple.fr", "inconnu@exemple.fr", "attente@exemple.fr"])
def test_forgotten_password_answers_the_same_for_any_address(client, db, email):
    UserFactory(email="login@exemple.fr")
    PendingUserFactory(email="attente@exemple.fr")
    response = client.post(reverse("accounts:password_reset"), {"email": email})
    assert (response.status_code, response.url) == (302, reverse("accounts:password_reset_done"))


def test_forgotten_password_on_an_account_never_activated_sends_a_new_activation_link(client, outbox, db):
    PendingUserFactory(email="attente@exemple.fr")

    client.post(reverse("accounts:password_reset"), {"email": "attente@exemple.fr"})

    (mail,) = outbox()
    assert "Activez votre compte" in mail.subject and mail.to == ["attente@exemple.fr"]


def test_the_reset_link_lives_sixty_minutes(client, outbox, db):
    import time_machine

    UserFactory(email="login@exemple.fr")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client.post(reverse("accounts:password_reset"), {"email": "login@exemple.fr"})
        clock.shift(timedelta(minutes=60, seconds=1))
        response = client.get(reset_link(outbox()[0]), follow=True)
    assert "plus valable" in response.content.decode()


def test_reset_is_limited_per_ip(client, db, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "reset": 1}
    client.post(reverse("accounts:password_reset"), {"email": "a@exemple.fr"})
    response = client.post(reverse("accounts:password_reset"), {"email": "a@exemple.fr"})
    assert response.status_code == 200 and "Trop de tentatives" in response.content.decode()


def test_change_password_keeps_this_session_and_ends_the_others(client, member):
    from django.test import Client

    other = Client()
    other.force_login(member)
    client.force_login(member)
    new = "Colza-Orge-Luzerne-77"

    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )

    assert response.url == reverse("accounts:profile")
    assert client.get(reverse("accounts:profile")).status_code == 200
    assert other.get(reverse("accounts:profile")).status_code == 302


def test_the_profile_edits_contact_data_but_never_the_login_address(client, member):
    """Names, phone and survey consent; neither address: the contact one has its own step (test_address_changes)."""
    client.force_login(member)
    response = client.post(
        reverse("accounts:profile"),
        {
            "first_name": "Paulo",
            "last_name": "Membre",
            "phone": "+32 470 12 34 56",
            "contact_email": "Bureau@Exemple.fr",
            "survey_consent": "on",
            "email": "pirate@exemple.fr",
            "is_staff": "on",
        },
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.first_name, member.phone, member.contact_email) == ("Paulo", "+32470123456", "")
    assert member.survey_consent and member.email != "pirate@exemple.fr" and not member.is_staff


def test_deactivation_asks_the_password_then_ends_every_session(client, member, outbox):
    from django.test import Client

    other = Client()
    other.force_login(member)
    client.force_login(member)

    wrong = client.post(reverse("accounts:deactivate"), {"password": "Mauvais-Mot-2031", "confirm": "on"})
    assert "incorrect" in wrong.content.decode()

    response = client.post(reverse("accounts:deactivate"), {"password": PASSWORD, "confirm": "on"})

    assert response.url == reverse("home")
    member.refresh_from_db()
    assert not member.is_active
    assert other.get(reverse("accounts:profile")).status_code == 302
    assert "désactivé" in outbox()[0].subject
    assert sign_in(client, member.email).status_code == 200


@pytest.mark.parametrize("url", ["accounts:profile", "accounts:password_change", "accounts:deactivate", "organisation"])
def test_private_pages_send_visitors_to_sign_in(client, db, url):
    response = client.get(reverse(url))
    assert response.status_code == 302 and response.url.startswith(LOGIN)


def test_purge_removes_old_unactivated_accounts_and_the_structures_only_they_held(db):
    from django.core.management import call_command

    old = timezone.now() - timedelta(days=8)
    stale = PendingUserFactory(email="stale@exemple.fr", date_joined=old, activation_sent_at=old)
    lonely = StructureFactory()
    MembershipFactory(user=stale, structure=lonely, role="main_manager")
    shared = StructureFactory()
    MembershipFactory(
        user=PendingUserFactory(date_joined=old, activation_sent_at=old), structure=shared, role="main_manager"
    )
    colleague = MembershipFactory(user=UserFactory(), structure=shared).user
    relinked = PendingUserFactory(email="relance@exemple.fr", date_joined=old)  # new link sent today
    recent = PendingUserFactory(email="recent@exemple.fr")
    active = UserFactory(date_joined=old)
    out = StringIO()

    call_command("purge_unactivated", days=7, stdout=out)

    assert set(User.objects.all()) == {recent, relinked, active, colleague}
    assert not Structure.objects.filter(pk=lonely.pk).exists()
    assert Structure.objects.filter(pk=shared.pk).exists()
    assert "2 unactivated account(s) and 1 structure(s) were deleted" in out.getvalue()
    assert f"appoint one in the admin: {shared.siret}" in out.getvalue()


def test_purge_dry_run_deletes_nothing(db):
    from django.core.management import call_command

    old = timezone.now() - timedelta(days=8)
    PendingUserFactory(date_joined=old, activation_sent_at=old)
    out = StringIO()

    call_command("purge_unactivated", days=7, dry_run=True, stdout=out)

    assert User.objects.count() == 1 and "would be deleted" in out.getvalue()


def test_the_profile_takes_a_phone_typed_with_spaces_and_the_trunk_zero(client, member):
    client.force_login(member)
    data = {"first_name": "Paul", "last_name": "Membre", "phone": "+33 (0) 6 12 34 56 78", "contact_email": ""}

    response = client.post(reverse("accounts:profile"), data)

    assert response.status_code == 302, response.context["form"].errors
    member.refresh_from_db()
    assert member.phone == "+33612345678"
