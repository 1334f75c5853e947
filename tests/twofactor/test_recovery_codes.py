"""Recovery codes (PRODUCT §8): ten, shown once, kept as keyed digests only, each good for one sign-in, regenerable
once the user has an application or a key, the older ones void."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import Action, AuditEvent
from tests.e2e.pages import application_code
from tests.factories import PASSWORD
from twofactor.devices import recovery_device
from twofactor.enrolment import RECOVERY_ALPHABET, new_recovery_code
from twofactor.models import RecoveryCode, recovery_code_digest

ADD = reverse("twofactor:totp_add")
DEVICES = reverse("twofactor:devices")
CODES = reverse("twofactor:recovery_codes")
REGENERATE = reverse("twofactor:recovery_codes_regenerate")
VERIFY = reverse("twofactor:verify")
CODE = re.compile(r"<code>([A-Z2-9]{5}-[A-Z2-9]{5})</code>")


def add_application(client, user) -> list[str]:
    """« Ajouter une application d'authentification », then the recovery codes page: the codes it shows."""
    client.get(ADD)
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    client.post(ADD, {"name": "Téléphone", "code": application_code(device)})
    return CODE.findall(client.get(CODES).content.decode())


def sign_in_with_recovery_code(user, code: str):
    """The password through the form, then « Code de secours » chosen on the second step."""
    client = Client()
    client.post(reverse("accounts:login"), {"username": user.email, "password": PASSWORD})
    device = recovery_device(user)
    page = client.get(f"{VERIFY}?appareil={device.persistent_id}")
    assert "Saisissez l'un de vos codes de secours" in page.content.decode()
    return client, client.post(VERIFY, {"code": code, "device": device.persistent_id, "next": "/"})


def test_a_code_is_ten_unambiguous_signs_in_two_groups():
    codes = {new_recovery_code() for _ in range(200)}

    assert len(codes) == 200
    for code in codes:
        assert re.fullmatch(r"[A-Z2-9]{5}-[A-Z2-9]{5}", code)
        assert set(code.replace("-", "")) <= set(RECOVERY_ALPHABET)
    assert not set("01IO") & set(RECOVERY_ALPHABET)


def test_the_codes_are_shown_once_and_only_their_digests_are_stored(sign_in, member):
    client = sign_in(member)

    codes = add_application(client, member)

    assert len(codes) == 10
    stored = set(RecoveryCode.objects.filter(device__user=member).values_list("digest", flat=True))
    assert stored == {recovery_code_digest(code) for code in codes}
    assert not any(code.replace("-", "") in digest.upper() for code in codes for digest in stored)
    again = client.get(CODES)
    assert again.status_code == 302 and again.url == DEVICES
    page = client.get(DEVICES).content.decode()
    assert "Les codes de secours ne s&#x27;affichent qu&#x27;une fois" in page
    assert "Il vous en reste <strong>10</strong>" in page


def test_a_recovery_code_signs_in_once_only(sign_in, member, outbox):
    codes = add_application(sign_in(member), member)

    client, first = sign_in_with_recovery_code(member, codes[3].lower().replace("-", " "))
    _, second = sign_in_with_recovery_code(member, codes[3])

    assert first.status_code == 302 and first.url == "/"
    assert client.get(reverse("structures:structure_list")).status_code == 200
    assert second.status_code == 200 and "Ce code de secours est incorrect ou a déjà servi" in second.content.decode()
    assert RecoveryCode.objects.filter(device__user=member).count() == 9
    assert "Il vous en reste <strong>9</strong>" in client.get(DEVICES).content.decode()


def test_another_users_recovery_code_does_not_sign_in(sign_in, member, outsider, outbox):
    mine = add_application(sign_in(member), member)
    add_application(sign_in(outsider), outsider)

    _, response = sign_in_with_recovery_code(outsider, mine[0])

    assert response.status_code == 200
    assert "Ce code de secours est incorrect ou a déjà servi" in response.content.decode()
    assert RecoveryCode.objects.filter(device__user=member).count() == 10


def test_new_codes_void_the_old_ones_audited_and_mailed(sign_in, member, outbox):
    client = sign_in(member)
    old = add_application(client, member)

    response = client.post(REGENERATE)

    assert response.status_code == 302 and response.url == CODES
    new = CODE.findall(client.get(CODES).content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    stored = set(RecoveryCode.objects.filter(device__user=member).values_list("digest", flat=True))
    assert stored == {recovery_code_digest(code) for code in new}
    assert AuditEvent.objects.filter(action=Action.RECOVERY_CODES_ISSUED, actor=member).count() == 2
    [mail] = [m for m in outbox() if m.subject == "De nouveaux codes de secours ont été générés"]
    assert mail.to == [member.email]
    assert "Les codes de secours précédents ne fonctionnent plus." in mail.body
    _, refused = sign_in_with_recovery_code(member, old[0])
    assert "Ce code de secours est incorrect ou a déjà servi" in refused.content.decode()


def test_without_an_application_or_a_key_no_codes_are_issued(sign_in, member, outbox):
    client = sign_in(member)

    response = client.post(REGENERATE)

    assert response.status_code == 302 and response.url == DEVICES
    assert "application d&#x27;authentification ou une clé de sécurité" in client.get(DEVICES).content.decode()
    assert not RecoveryCode.objects.exists()
    assert outbox() == []
    assert "Générer de nouveaux codes de secours" not in client.get(DEVICES).content.decode()


def test_new_codes_need_a_recent_password(sign_in, member):
    codes = add_application(sign_in(member), member)

    response = sign_in(member, fresh=False).post(REGENERATE)

    assert response.status_code == 302
    assert response.url == f"{reverse('accounts:confirm_password')}?next={DEVICES.replace('/', '%2F')}"
    assert set(RecoveryCode.objects.values_list("digest", flat=True)) == {recovery_code_digest(c) for c in codes}


@pytest.mark.parametrize("method", ["get", "put"])
def test_new_codes_are_a_post(sign_in, member, method):
    add_application(sign_in(member), member)

    assert getattr(sign_in(member), method)(REGENERATE).status_code == 405
