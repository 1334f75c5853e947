"""The second step of every sign-in (PRODUCT §8): a code after a right password, before any signed-in page."""

import re
from datetime import timedelta

import pytest
import time_machine
from axes.utils import reset as clear_lockout
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_email.models import EmailDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.emails import activation_link
from audit.models import Action, AuditEvent
from chorus import reauth
from tests.e2e.pages import SIGN_IN_CODE, application_code
from tests.factories import PASSWORD, PendingUserFactory, StructureFactory, UserFactory
from tests.security.test_bad_input import NASTY

LOGIN = reverse("accounts:login")
VERIFY = reverse("twofactor:verify")
SEND_CODE = reverse("twofactor:send_code")
WRONG_CODE = "Code incorrect ou expiré"


def sign_in(client, user, password=PASSWORD, next_url=""):
    address = LOGIN + (f"?next={next_url}" if next_url else "")
    return client.post(address, {"username": user.email, "password": password})


def mailed_codes(outbox, user) -> list[str]:
    return [m for m in outbox() if m.to == [user.email] and SIGN_IN_CODE.search(m.body)]


def last_code(outbox, user) -> str:
    return SIGN_IN_CODE.search(mailed_codes(outbox, user)[-1].body).group(1)


def enter(client, code, **extra):
    return client.post(VERIFY, {"code": code, **extra})


def test_a_right_password_leads_to_the_code_mailed_to_the_login_address(client, member, outbox):
    response = sign_in(client, member)

    assert response.status_code == 302 and response.url.startswith(VERIFY)
    [mail] = mailed_codes(outbox, member)
    assert mail.subject == "Votre code de connexion Chorus Pro TIC/TICGN"
    assert "valable 10 minutes" in mail.body and "depuis l'adresse IP 127.0.0.1" in mail.body
    assert "Si vous n'êtes pas à l'origine de cette connexion" in mail.body
    page = client.get(response.url).content.decode()
    assert "Double authentification" in page and member.email in page


def test_the_right_code_opens_the_portal_and_counts_as_a_fresh_password(client, member, outbox):
    sign_in(client, member, next_url=reverse("structures:structure_list"))

    response = enter(client, last_code(outbox, member), next=reverse("structures:structure_list"))

    assert response.status_code == 302 and response.url == reverse("structures:structure_list")
    assert client.get(reverse("structures:structure_list")).status_code == 200
    assert reauth.SESSION_KEY in client.session
    assert AuditEvent.objects.filter(action=Action.SECOND_FACTOR_PASSED, actor=member).exists()


def test_before_the_code_every_signed_in_page_leads_to_it_and_a_post_changes_nothing(client, manager, farm, outbox):
    sign_in(client, manager)

    page = client.get(reverse("structures:structure_detail", args=[farm.pk]))
    posted = client.post(reverse("accounts:profile"), {"first_name": "Pirate", "last_name": "X"})
    admin = client.get("/administration/")

    assert page.status_code == 302 and page.url.startswith(VERIFY)
    assert posted.status_code == 302 and posted.url.startswith(VERIFY)
    assert admin.status_code == 302 and admin.url.startswith(VERIFY)
    manager.refresh_from_db()
    assert manager.first_name != "Pirate"
    assert reauth.SESSION_KEY not in client.session


def test_the_password_is_not_confirmed_until_the_code(client, member, outbox):
    sign_in(client, member)

    assert not reauth.is_recent(type("R", (), {"session": client.session})())


@pytest.mark.parametrize("wrong", ["000000", "12345", "abcdef", " ", "9" * 64])
def test_a_wrong_code_is_said_next_to_the_field_and_counted(client, member, outbox, wrong):
    sign_in(client, member)
    if wrong == last_code(outbox, member):
        wrong = "111111"

    response = enter(client, wrong)

    assert response.status_code == 200
    page = response.content.decode()
    assert WRONG_CODE in page or "Saisissez le code." in page
    assert client.get(reverse("structures:structure_list")).url.startswith(VERIFY)


def test_an_expired_code_is_refused(client, member, outbox):
    sign_in(client, member)
    code = last_code(outbox, member)

    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        response = enter(client, code)

    assert WRONG_CODE in response.content.decode()


def test_a_code_serves_once(client, member, outbox):
    sign_in(client, member)
    code = last_code(outbox, member)
    other_browser = type(client)()
    sign_in(other_browser, member)  # within the minute: no new code, the first one stands
    enter(client, code)

    response = enter(other_browser, code)

    assert len(mailed_codes(outbox, member)) == 1
    assert WRONG_CODE in response.content.decode()


def test_a_newer_code_voids_the_older(client, member, outbox):
    sign_in(client, member)
    outbox()  # the sign-in's mail delivered first: the worker sends what is queued in no set order
    EmailDevice.objects.filter(user=member).update(token="111111")
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        client.post(SEND_CODE)
        newer = last_code(outbox, member)

        refused = enter(client, "111111")
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):  # past the wait after a wrong code
        accepted = enter(client, newer)

    assert newer != "111111" and WRONG_CODE in refused.content.decode()
    assert accepted.status_code == 302


def test_another_accounts_code_is_refused(client, member, outbox, db):
    other = UserFactory(email="autre@exemple.fr")
    sign_in(type(client)(), other)
    sign_in(client, member)
    EmailDevice.objects.filter(user=other).update(token="246810")
    EmailDevice.objects.filter(user=member).update(token="135790")

    response = enter(client, "246810")

    assert WRONG_CODE in response.content.decode()


def test_another_accounts_device_cannot_be_chosen(client, member, outbox, db):
    other = UserFactory(email="autre@exemple.fr")
    theirs = TOTPDevice.objects.create(user=other, name="Le sien", confirmed=True)
    sign_in(client, member)

    page = client.get(VERIFY, {"appareil": theirs.persistent_id}).content.decode()
    response = enter(client, "123456", device=theirs.persistent_id)

    assert "Le sien" not in page and "envoyé par courriel" in page
    assert WRONG_CODE in response.content.decode()


def test_the_second_step_without_the_first_leads_to_sign_in(client, member):
    response = enter(client, "123456")

    assert response.status_code == 302 and response.url.startswith(LOGIN)
    assert client.post(SEND_CODE).url.startswith(LOGIN)


def later(seconds: int):
    """Past django-otp's wait after a wrong code (1, 2, 4… seconds), well within the lockout's 15 minutes."""
    return time_machine.travel(timezone.now() + timedelta(seconds=seconds))


def test_wrong_codes_and_wrong_passwords_lock_the_account_together(client, member, outbox, settings):
    client.post(LOGIN, {"username": member.email, "password": "Mauvais-Mot-2031"})
    client.post(LOGIN, {"username": member.email, "password": "Mauvais-Mot-2031"})
    sign_in(client, member)  # right: it clears nothing until the code passes
    right = last_code(outbox, member)
    wrong = [code for code in ("000001", "000002", "000003", "000004") if code != right][:3]
    with later(30):
        enter(client, wrong[0])
    with later(60):
        enter(client, wrong[1])

    with later(90):
        response = enter(client, wrong[2])
        again = sign_in(client, member)

    assert response.status_code == settings.AXES_HTTP_RESPONSE_CODE
    assert "Réinitialiser mon mot de passe" in response.content.decode()
    assert "_auth_user_id" not in client.session  # this half-open session is closed
    assert again.status_code == settings.AXES_HTTP_RESPONSE_CODE  # even the right password opens nothing


def test_signing_in_again_does_not_clear_the_failed_codes(client, member, outbox, settings):
    for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        with later(30 * attempt):
            sign_in(client, member)
            enter(client, "abcdef")

    with later(30 * settings.AXES_FAILURE_LIMIT):
        sign_in(client, member)
        response = enter(client, "abcdef")

    assert response.status_code == settings.AXES_HTTP_RESPONSE_CODE


def test_the_right_code_clears_the_failures(client, member, outbox, settings):
    sign_in(client, member)
    for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        with later(30 * attempt):
            enter(client, "abcdef")
    with later(150):
        enter(client, last_code(outbox, member))
        client.post(reverse("accounts:sign_out"))

    sign_in(client, member)
    response = enter(client, "abcdef")

    assert response.status_code == 200


def test_a_code_typed_too_soon_after_a_wrong_one_is_not_checked_nor_counted(client, member, outbox, settings):
    sign_in(client, member)
    enter(client, "000000" if last_code(outbox, member) != "000000" else "000001")

    response = enter(client, last_code(outbox, member))

    assert "patientez quelques secondes" in response.content.decode()
    assert AuditEvent.objects.filter(action=Action.SECOND_FACTOR_FAILED).count() == 1
    with time_machine.travel(timezone.now() + timedelta(seconds=5)):
        assert enter(client, last_code(outbox, member)).status_code == 302


def test_failed_codes_are_in_the_audit_trail(client, member, outbox):
    sign_in(client, member)
    enter(client, "abcdef")

    event = AuditEvent.objects.get(action=Action.SECOND_FACTOR_FAILED)
    assert event.actor_label == member.email


def test_a_new_code_waits_a_minute_then_is_limited_per_hour(client, member, outbox, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "second_factor_code": 2}
    sign_in(client, member)

    soon = client.post(SEND_CODE, follow=True).content.decode()
    assert "attendez une minute" in soon
    for minutes in (2, 4):
        with time_machine.travel(timezone.now() + timedelta(minutes=minutes)):
            client.post(SEND_CODE)
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        limited = client.post(SEND_CODE, follow=True).content.decode()

    assert "beaucoup de codes" in limited
    assert len(mailed_codes(outbox, member)) == 2  # the sign-in's and one more


def test_the_verify_page_never_redirects_elsewhere(client, member, outbox):
    sign_in(client, member)

    response = enter(client, last_code(outbox, member), next="https://pirate.example/")

    assert response.url == reverse("home")


def test_activation_counts_as_the_second_factor(client, db, outbox):
    user = PendingUserFactory(email="nouvelle@exemple.fr", signup_siret=StructureFactory().siret)
    mails_before = len(outbox())
    activation_link(user)
    [link] = [m[0] for m in (re.search(r"https?://\S+/compte/activer/\S+/", o.body) for o in outbox()) if m]
    page = client.get(link, follow=True)
    client.post(
        page.redirect_chain[-1][0], {"new_password1": "Champ-De-Blé-2031", "new_password2": "Champ-De-Blé-2031"}
    )

    assert len(outbox()) > mails_before
    assert client.get(reverse("structures:structure_list")).status_code == 200
    assert not mailed_codes(outbox, user)


class TestTheAdmin:
    def test_an_anonymous_visitor_is_sent_to_the_portals_sign_in(self, client, db):
        response = client.get("/administration/")

        assert response.status_code == 302
        assert client.get(response.url).url.startswith(LOGIN)

    def test_staff_verified_by_mailed_code_are_told_to_use_an_application(self, client, db, outbox, support_group):
        agent = UserFactory(email="agent@exemple.fr", is_staff=True)
        agent.groups.add(support_group)
        sign_in(client, agent, next_url="/administration/")
        enter(client, last_code(outbox, agent), next="/administration/")

        response = client.get("/administration/", follow=True)

        assert response.status_code == 403
        assert "application d'authentification" in response.content.decode()

    def test_staff_with_an_application_open_it(self, client, db, outbox, support_group):
        agent = UserFactory(email="agent@exemple.fr", is_staff=True)
        agent.groups.add(support_group)
        device = TOTPDevice.objects.create(user=agent, name="Téléphone", confirmed=True)
        sign_in(client, agent, next_url="/administration/")

        response = enter(client, application_code(device), next="/administration/")

        assert response.url == "/administration/"
        assert client.get("/administration/").status_code == 200
        assert not mailed_codes(outbox, agent)  # the application is the default: no mail

    def test_a_user_who_is_not_staff_reads_that_it_is_for_the_team(self, sign_in, member):
        response = sign_in(member).get("/administration/", follow=True)

        assert response.status_code == 403
        assert "réservée à l'équipe" in response.content.decode()


def test_a_code_typed_in_a_verified_session_stands_for_no_password(client, db, outbox, support_group):
    """Another device for the admin (step-up) verifies the session again, but does not open the re-authentication
    window: that needs the password as well."""
    agent = UserFactory(email="agent@exemple.fr", is_staff=True)
    agent.groups.add(support_group)
    device = TOTPDevice.objects.create(user=agent, name="Téléphone", confirmed=True)
    client.force_login(agent)
    session = client.session
    session.pop(reauth.SESSION_KEY, None)
    session.save()

    response = client.post(f"{VERIFY}?appareil={device.persistent_id}", {"code": application_code(device)})

    assert response.status_code == 302
    assert reauth.SESSION_KEY not in client.session


def test_nasty_codes_get_the_page_back_with_the_error_never_a_500(member, outbox):
    """Each value from a fresh browser, past django-otp's wait, the lockout cleared: each is judged, none passes."""
    for minutes, (name, value) in enumerate(NASTY.items()):
        clear_lockout()
        browser = Client(raise_request_exception=False)
        with later(60 * minutes):
            sign_in(browser, member)
            response = browser.post(VERIFY, {"code": value})
        assert response.status_code == 200, f"{name}: {response.status_code}"
        assert "_auth_user_id" in browser.session and DEVICE_ID_SESSION_KEY not in browser.session, name


def test_staff_signed_in_by_mailed_code_step_up_to_their_application_for_the_admin(client, db, outbox, support_group):
    agent = UserFactory(email="agent@exemple.fr", is_staff=True)
    agent.groups.add(support_group)
    device = TOTPDevice.objects.create(user=agent, name="Téléphone", confirmed=True)
    email = EmailDevice.objects.create(user=agent, name="Code par courriel", confirmed=True)
    sign_in(client, agent, next_url="/administration/")
    client.post(SEND_CODE, {"next": "/administration/"})
    enter(client, last_code(outbox, agent), device=email.persistent_id, next="/administration/")

    refused = client.get("/administration/", follow=True)
    step_up = re.search(r'href="([^"]*renforcer=1[^"]*)"', refused.content.decode()).group(1).replace("&amp;", "&")
    page = client.get(step_up)
    response = client.post(step_up, {"code": application_code(device), "device": device.persistent_id})

    assert refused.status_code == 403
    assert "affiché par votre application" in page.content.decode()
    assert response.url == "/administration/"
    assert client.get("/administration/").status_code == 200


def test_choosing_the_mailed_code_without_one_offers_to_send_it(client, db, outbox):
    user = UserFactory(email="jeanne@exemple.fr")
    TOTPDevice.objects.create(user=user, name="Téléphone", confirmed=True)
    email = EmailDevice.objects.create(user=user, name="Code par courriel", confirmed=True)
    sign_in(client, user)  # the application is the default: nothing mailed

    page = client.get(VERIFY, {"appareil": email.persistent_id}).content.decode()

    assert not mailed_codes(outbox, user)
    assert "Recevoir un code" in page and "dernier code" not in page


def test_the_lockout_after_wrong_codes_speaks_of_signing_in(client, member, outbox, settings):
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        with later(30 * attempt):
            if attempt == 0:
                sign_in(client, member)
            response = enter(client, "abcdef")

    assert response.status_code == settings.AXES_HTTP_RESPONSE_CODE
    page = response.content.decode()
    assert "Connexion temporairement bloquée" in page and "Mot de passe temporairement bloqué" not in page
