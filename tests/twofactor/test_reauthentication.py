"""« Confirmez votre identité » (PRODUCT §8): before bank details and the other protected steps, the password
and then the second factor, within one window, both counted in the account's lockout."""

from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from audit.models import Action, AuditEvent
from chorus import reauth
from tests.e2e.pages import SIGN_IN_CODE, application_code
from tests.factories import PASSWORD
from twofactor.devices import email_device, opens_admin
from twofactor.models import RecoveryCode, RecoveryCodeDevice, recovery_code_digest

CONFIRM = reverse("accounts:confirm_password")
NEXT = reverse("structures:structure_list")
WRONG = "Mauvais-Mot-2031"
WRONG_CODE = "Code incorrect ou expiré"


def codes(outbox, user) -> list[str]:
    return [
        SIGN_IN_CODE.search(m.body).group(1) for m in outbox() if m.to == [user.email] and SIGN_IN_CODE.search(m.body)
    ]


def password_step(client, password=PASSWORD, next_url=NEXT):
    return client.post(CONFIRM, {"password": password, "next": next_url})


def code_step(client, code, next_url=NEXT, **extra):
    return client.post(CONFIRM, {"code": code, "next": next_url, **extra})


@pytest.fixture
def browser(sign_in, member):
    return sign_in(member, fresh=False)


def test_the_page_asks_the_password_first_and_mails_nothing_on_opening(browser, member, outbox):
    page = browser.get(CONFIRM, {"next": NEXT})

    assert page.status_code == 200
    assert "Confirmez votre identité" in page.text and "Étape 1 sur 2" in page.text
    assert 'name="password"' in page.text and 'name="code"' not in page.text
    assert codes(outbox, member) == []


def test_a_right_password_mails_the_code_and_asks_it(browser, member, outbox):
    response = password_step(browser)

    assert response.status_code == 302 and response.url.startswith(CONFIRM)
    assert len(codes(outbox, member)) == 1
    page = browser.get(response.url)
    assert "Étape 2 sur 2" in page.text and member.email in page.text and 'name="code"' in page.text
    assert reauth.SESSION_KEY not in browser.session, "the password alone does not open the protected steps"


def test_the_right_code_then_opens_the_protected_steps(browser, member, outbox):
    password_step(browser)

    response = code_step(browser, codes(outbox, member)[-1])

    assert response.status_code == 302 and response.url == NEXT
    assert reauth.is_recent(_request(browser))
    assert AuditEvent.objects.filter(action=Action.SECOND_FACTOR_PASSED, actor=member).exists()


def _request(client):
    class Request:
        session = client.session

    return Request()


def test_a_wrong_password_asks_again_and_mails_nothing(browser, member, outbox):
    response = password_step(browser, WRONG)

    assert response.status_code == 200 and "Le mot de passe est incorrect." in response.text
    assert codes(outbox, member) == []


def test_the_code_step_cannot_be_reached_without_the_password(browser, member, outbox):
    email_device(member).generate_token()
    token = email_device(member).token

    response = code_step(browser, token)

    assert response.status_code == 302 and response.url.startswith(CONFIRM)
    assert reauth.SESSION_KEY not in browser.session
    assert "Étape 1 sur 2" in browser.get(response.url).text


def test_a_wrong_code_is_said_next_to_the_field_and_counted(browser, member, outbox):
    password_step(browser)

    response = code_step(browser, "000000" if codes(outbox, member)[-1] != "000000" else "111111")

    assert response.status_code == 200 and WRONG_CODE in response.text
    assert reauth.SESSION_KEY not in browser.session
    assert AuditEvent.objects.filter(action=Action.SECOND_FACTOR_FAILED, actor_label=member.email).exists()


def test_wrong_codes_lock_the_account_as_wrong_passwords_do(browser, member, outbox, settings):
    settings.AXES_FAILURE_LIMIT = 3
    password_step(browser)
    right = codes(outbox, member)[-1]
    wrong = "000000" if right != "000000" else "111111"
    device = email_device(member)
    for _ in range(2):
        assert WRONG_CODE in code_step(browser, wrong).text
        device.throttle_reset()  # django-otp's own wait after a wrong code, out of the way of the count

    locking = code_step(browser, wrong)
    device.throttle_reset()
    refused = code_step(browser, right)

    assert locking.status_code == 429 and refused.status_code == 429
    assert reauth.SESSION_KEY not in browser.session
    assert password_step(browser).status_code == 429, "the password is refused unchecked too"


def test_the_code_must_follow_the_password_within_the_window(browser, member, outbox):
    password_step(browser)
    code = codes(outbox, member)[-1]

    with time_machine.travel(timezone.now() + timedelta(minutes=10, seconds=1)):
        response = code_step(browser, code)
        page = browser.get(response.url)

    assert response.status_code == 302 and reauth.SESSION_KEY not in browser.session
    assert "doit suivre dans les 10 minutes" in page.text and "Étape 1 sur 2" in page.text


def test_a_new_code_can_be_asked_and_is_limited(browser, member, outbox, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "second_factor_code": 2}
    password_step(browser)

    too_soon = browser.post(CONFIRM, {"resend": "1", "next": NEXT}, follow=True)
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        again = browser.post(CONFIRM, {"resend": "1", "next": NEXT}, follow=True)
    with time_machine.travel(timezone.now() + timedelta(minutes=4)):
        limited = browser.post(CONFIRM, {"resend": "1", "next": NEXT}, follow=True)

    assert "attendez une minute" in too_soon.text
    assert f"Un code est envoyé à {member.email}" in again.text
    assert "beaucoup de codes" in limited.text
    assert len(codes(outbox, member)) == 2


def test_the_application_is_asked_for_a_session_signed_in_with_it(db, sign_in, staff, outbox):
    browser = sign_in(staff, fresh=False)  # signed in with their application
    phone = TOTPDevice.objects.get(user=staff)

    password_step(browser)
    page = browser.get(CONFIRM, {"next": NEXT})
    response = code_step(browser, application_code(phone), device=phone.persistent_id)

    assert codes(outbox, staff) == [], "no mail: the application is asked"
    assert "affiché par votre Application d" in page.text
    assert response.status_code == 302 and response.url == NEXT


def test_confirming_with_the_mailed_code_keeps_the_admin_of_staff_signed_in_with_their_application(
    db, sign_in, staff, outbox
):
    browser = sign_in(staff, fresh=False)
    password_step(browser)
    browser.post(CONFIRM, {"resend": "1", "next": NEXT})
    [*_, code] = codes(outbox, staff)

    response = code_step(browser, code, device=email_device(staff).persistent_id)

    assert response.url == NEXT
    session_device = browser.session["otp_device_id"]
    assert session_device == TOTPDevice.objects.get(user=staff).persistent_id
    staff.otp_device = TOTPDevice.objects.get(user=staff)
    staff.is_verified = lambda: True
    assert opens_admin(staff)


def test_a_recovery_code_may_be_chosen(browser, member, outbox):
    device = RecoveryCodeDevice.objects.create(user=member, name="Codes de secours", confirmed=True)
    RecoveryCode.objects.create(device=device, digest=recovery_code_digest("ABCDE-FGHIJ"))
    password_step(browser)

    response = code_step(browser, "abcde fghij", device=device.persistent_id)

    assert response.url == NEXT
    assert not RecoveryCode.objects.filter(device=device).exists(), "used once"


def test_another_accounts_device_cannot_be_chosen(browser, member, outsider, outbox):
    phone = TOTPDevice.objects.create(user=outsider, name="Téléphone", confirmed=True)
    password_step(browser)

    response = code_step(browser, application_code(phone), device=phone.persistent_id)

    assert response.status_code == 200 and WRONG_CODE in response.text
    assert reauth.SESSION_KEY not in browser.session


def test_a_bank_detail_step_asks_both_factors_then_opens(sign_in, manager, outbox):
    browser = sign_in(manager, fresh=False)
    protected = reverse("structures:structure_list")

    password_step(browser, next_url=protected)
    response = code_step(browser, codes(outbox, manager)[-1], next_url=protected)

    assert response.url == protected
    assert browser.get(protected).status_code == 200


@pytest.fixture
def key(member, settings):
    settings.OTP_WEBAUTHN_RP_ID = "testserver"  # keys work at the test client's address
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = ["http://testserver"]
    return WebAuthnCredential.objects.create(
        user=member, name="Clé USB", confirmed=True, credential_id=b"\x01" * 16, public_key=b"\x02" * 16
    )


def test_a_security_key_is_offered_instead_of_a_code(browser, member, key, outbox):
    password_step(browser)

    page = browser.get(CONFIRM, {"next": NEXT, "appareil": key.persistent_id})

    assert "data-webauthn-verify" in page.text and "Utiliser ma clé de sécurité" in page.text
    assert 'name="code"' not in page.text and 'name="trust"' not in page.text, "no trust box when confirming"


def test_the_keys_answer_confirms_the_identity(browser, member, key, outbox):
    password_step(browser)

    with mock.patch("twofactor.webauthn.confirm_identity", return_value=key) as judged:
        response = browser.post(
            f"{CONFIRM}?appareil={key.persistent_id}", {"next": NEXT, "device": key.persistent_id, "assertion": "{}"}
        )

    assert judged.called and response.url == NEXT
    assert reauth.SESSION_KEY in browser.session


def test_a_refused_key_is_said_and_confirms_nothing(browser, member, key, outbox):
    password_step(browser)
    session = browser.session
    session["otp_webauthn_authentication_state"] = {"challenge": "forgé"}
    session.save()

    response = browser.post(CONFIRM, {"next": NEXT, "device": key.persistent_id, "assertion": "pas une réponse"})

    assert response.status_code == 302 and reauth.SESSION_KEY not in browser.session
    assert "Utiliser ma clé de sécurité" in browser.get(response.url).text
    assert AuditEvent.objects.filter(action=Action.SECOND_FACTOR_FAILED, actor_label=member.email).exists()
