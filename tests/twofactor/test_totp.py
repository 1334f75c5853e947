"""« Ajouter une application d'authentification » (PRODUCT §8): the key shown as a QR code and in text, confirmed
by the first code the application shows, announced by mail, with ten recovery codes the first time."""

import re
from datetime import timedelta

import time_machine
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import Action, AuditEvent
from tests.e2e.pages import application_code
from tests.factories import PASSWORD
from twofactor.models import RecoveryCode

ADD = reverse("twofactor:totp_add")
DEVICES = reverse("twofactor:devices")
CODES = reverse("twofactor:recovery_codes")


def pending(user) -> TOTPDevice:
    return TOTPDevice.objects.get(user=user, confirmed=False)


def test_the_page_shows_the_key_as_an_inline_qr_code_and_in_groups_of_four(sign_in, member):
    response = sign_in(member).get(ADD)

    page = response.content.decode()
    device = pending(member)
    assert response.status_code == 200
    assert re.search(r'<svg role="img" aria-label="QR code de la clé[^"]*"[^>]*class="twofactor-qr"', page)
    assert "data:" not in page and "style=" not in page.split("<svg", 1)[1].split("</svg>", 1)[0]
    key = re.search(r'<code id="totp-key">([A-Z2-7 ]+)</code>', page).group(1)
    assert [len(group) for group in key.split()] == [4] * 8
    assert device.config_url.split("secret=")[1].startswith(key.replace(" ", ""))
    assert 'value="Application"' in page  # the name proposed


def test_without_a_recent_password_the_password_is_asked_first(sign_in, member):
    response = sign_in(member, fresh=False).get(ADD)

    assert response.status_code == 302 and response.url.startswith(reverse("accounts:confirm_password"))
    assert not TOTPDevice.objects.filter(user=member).exists()


def test_a_wrong_first_code_leaves_the_application_unconfirmed(sign_in, member, outbox):
    client = sign_in(member)
    client.get(ADD)
    device = pending(member)
    wrong = f"{(int(application_code(device)) + 1) % 1_000_000:06d}"

    response = client.post(ADD, {"name": "Téléphone", "code": wrong})

    assert response.status_code == 200
    assert "Ce code ne correspond pas à la clé affichée" in response.context["form"].errors["code"][0]
    assert pending(member).pk == device.pk  # the same key is shown again
    assert not AuditEvent.objects.filter(action=Action.DEVICE_ADDED).exists()
    assert outbox() == []


def test_a_code_that_is_not_six_digits_is_refused_next_to_the_field(sign_in, member):
    client = sign_in(member)
    client.get(ADD)

    response = client.post(ADD, {"name": "Téléphone", "code": "12a456"})

    assert response.context["form"].errors["code"] == ["Saisissez les 6 chiffres affichés par l'application."]
    assert TOTPDevice.objects.filter(user=member, confirmed=True).count() == 0


def test_a_name_is_required_and_at_most_64_characters(sign_in, member):
    client = sign_in(member)
    client.get(ADD)
    code = application_code(pending(member))

    blank = client.post(ADD, {"name": "   ", "code": code})
    long = client.post(ADD, {"name": "x" * 65, "code": code})

    assert blank.context["form"].errors["name"] == ["Donnez un nom à l'appareil."]
    assert long.context["form"].errors["name"] == ["Le nom de l'appareil ne peut pas dépasser 64 caractères."]
    assert not TOTPDevice.objects.filter(user=member, confirmed=True).exists()


def test_the_right_code_confirms_it_audits_mails_and_hands_out_ten_recovery_codes(sign_in, member, outbox):
    client = sign_in(member)
    client.get(ADD)
    device = pending(member)
    code = application_code(device)

    response = client.post(ADD, {"name": "  Téléphone   de Paul ", "code": f"{code[:3]} {code[3:]}"})

    assert response.status_code == 302 and response.url == CODES
    device.refresh_from_db()
    assert device.confirmed and device.name == "Téléphone de Paul"
    added = AuditEvent.objects.get(action=Action.DEVICE_ADDED)
    assert added.actor == member and added.details == {"device": "Application d'authentification « Téléphone de Paul »"}
    assert AuditEvent.objects.filter(action=Action.RECOVERY_CODES_ISSUED, actor=member).count() == 1
    [mail] = outbox()
    assert mail.to == [member.email]
    assert mail.subject == "Un moyen de double authentification a été ajouté à votre compte"
    assert "Application d'authentification « Téléphone de Paul »" in mail.body
    assert "depuis l'adresse IP 127.0.0.1" in mail.body and "Dix codes de secours" in mail.body
    assert "Si vous n'êtes pas à l'origine de cet ajout" in mail.body

    page = client.get(CODES).content.decode()
    codes = re.findall(r"<code>([A-Z2-9]{5}-[A-Z2-9]{5})</code>", page)
    assert len(set(codes)) == 10
    assert "Je les ai notés" in page
    assert RecoveryCode.objects.filter(device__user=member).count() == 10


def test_a_second_application_brings_no_new_recovery_codes(sign_in, member, outbox):
    client = sign_in(member)
    for name in ["Téléphone", "Tablette"]:
        client.get(ADD)
        response = client.post(ADD, {"name": name, "code": application_code(pending(member))})

    assert response.url == DEVICES
    assert AuditEvent.objects.filter(action=Action.RECOVERY_CODES_ISSUED).count() == 1
    added = [m for m in outbox() if m.subject == "Un moyen de double authentification a été ajouté à votre compte"]
    assert ["Dix codes de secours" in m.body for m in sorted(added, key=lambda m: "Tablette" in m.body)] == [
        True,
        False,
    ]
    assert "application « Tablette » est ajoutée" in client.get(DEVICES).content.decode()


def test_the_key_shown_is_kept_for_an_hour_then_replaced(sign_in, member):
    client = sign_in(member)
    client.get(ADD)
    first = pending(member)

    client.get(ADD)
    assert pending(member).pk == first.pk

    with time_machine.travel(timezone.now() + timedelta(hours=1, minutes=1)):
        client = sign_in(member)
        client.get(ADD)
    assert pending(member).pk != first.pk
    assert not TOTPDevice.objects.filter(pk=first.pk).exists()


def test_an_unconfirmed_application_is_no_second_factor(client, member):
    device = TOTPDevice.objects.create(user=member, name="Volée", confirmed=False)
    client.post(reverse("accounts:login"), {"username": member.email, "password": PASSWORD})

    response = client.post(
        reverse("twofactor:verify"), {"code": application_code(device), "device": device.persistent_id}
    )

    assert response.status_code == 200  # the default device (the e-mail code) was asked instead
    assert "Code incorrect" in response.content.decode()


def test_a_code_typed_during_the_wait_after_a_wrong_one_is_not_checked_and_says_so(sign_in, member):
    client = sign_in(member)
    client.get(ADD)
    device = pending(member)
    client.post(ADD, {"name": "Téléphone", "code": f"{(int(application_code(device)) + 1) % 1_000_000:06d}"})

    too_soon = client.post(ADD, {"name": "Téléphone", "code": application_code(device)})
    with time_machine.travel(timezone.now() + timedelta(seconds=2)):
        in_time = client.post(ADD, {"name": "Téléphone", "code": application_code(device)})

    assert too_soon.status_code == 200
    assert "patientez 1 seconde, puis saisissez le code" in too_soon.context["form"].errors["code"][0]
    assert in_time.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
