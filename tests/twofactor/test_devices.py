"""« Mon profil » → « Double authentification »: the list of devices, and renaming, choosing the default and removing
one, each on the user's own devices only, audited and mailed to the login address."""

import pytest
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import Action, AuditEvent
from tests.e2e.pages import application_code
from twofactor.devices import default_device, email_device, recovery_device, settings_of
from twofactor.models import RecoveryCode

DEVICES = reverse("twofactor:devices")
ADD = reverse("twofactor:totp_add")
VERIFY = reverse("twofactor:verify")


def url(name: str, device) -> str:
    return reverse(f"twofactor:{name}", args=[device.model_label(), device.pk])


def add_application(client, user, name="Téléphone") -> TOTPDevice:
    client.get(ADD)
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    client.post(ADD, {"name": name, "code": application_code(device)})
    device.refresh_from_db()
    assert device.confirmed
    return device


def mail_about(outbox, subject: str):
    """The one mail of this subject (the worker sends queued mails in no set order)."""
    [mail] = [m for m in outbox() if m.subject == subject]
    return mail


@pytest.fixture
def phone(sign_in, member):
    return add_application(sign_in(member), member)


def test_the_profile_leads_to_the_page_which_lists_the_e_mail_code_as_default(sign_in, member):
    client = sign_in(member)

    profile = client.get(reverse("accounts:profile")).content.decode()
    page = client.get(DEVICES).content.decode()

    assert f'href="{DEVICES}"' in profile
    assert "<h1>Double authentification</h1>" in page
    assert "Code par courriel" in page and f"à {member.email}" in page
    assert "Par défaut" in page
    assert "Ajouter une application d'authentification" in page
    assert "Générer de nouveaux codes de secours" not in page
    assert url("device_remove", email_device(member)) not in page  # the e-mail code stays


def test_an_application_is_listed_with_its_name_dates_and_actions(sign_in, member, phone):
    page = sign_in(member).get(DEVICES).content.decode()

    assert "Application d&#x27;authentification « Téléphone »" in page
    assert timezone.localtime(phone.created_at).strftime("%d/%m/%Y %H:%M") in page
    for name in ["device_rename", "device_remove"]:
        assert url(name, phone) in page
    # Without a choice of the user's, the strongest device is asked first: the e-mail code may become the default.
    assert url("device_make_default", phone) not in page
    assert url("device_make_default", email_device(member)) in page
    assert "Il vous en reste <strong>10</strong>" in page


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("device_rename", "get"),
        ("device_rename", "post"),
        ("device_make_default", "post"),
        ("device_remove", "get"),
        ("device_remove", "post"),
    ],
)
def test_another_users_device_is_not_found(sign_in, member, outsider, phone, outbox, name, method):
    client = sign_in(outsider)
    before = list(AuditEvent.objects.values_list("pk", flat=True))

    response = getattr(client, method)(url(name, phone), {"name": "Pirate"})

    assert response.status_code == 404
    phone.refresh_from_db()
    assert phone.name == "Téléphone" and settings_of(member).default_device == ""
    assert list(AuditEvent.objects.values_list("pk", flat=True)) == before


@pytest.mark.parametrize("name", ["device_rename", "device_remove"])
def test_the_e_mail_code_and_the_recovery_codes_are_neither_renamed_nor_removed(sign_in, member, phone, name):
    client = sign_in(member)

    assert client.post(url(name, email_device(member)), {"name": "X"}).status_code == 404
    assert client.post(url(name, recovery_device(member)), {"name": "X"}).status_code == 404
    assert client.post(url("device_make_default", recovery_device(member))).status_code == 404
    assert RecoveryCode.objects.filter(device__user=member).count() == 10


def test_an_unknown_kind_or_id_is_not_found(sign_in, member):
    client = sign_in(member)

    assert client.get(reverse("twofactor:device_rename", args=["accounts.user", member.pk])).status_code == 404
    assert client.get(reverse("twofactor:device_rename", args=["otp_totp.totpdevice", 999])).status_code == 404


def test_rename_is_saved_audited_and_mailed(sign_in, member, phone, outbox):
    client = sign_in(member)
    outbox()

    response = client.post(url("device_rename", phone), {"name": "  Téléphone   pro "})

    assert response.status_code == 302 and response.url == DEVICES
    phone.refresh_from_db()
    assert phone.name == "Téléphone pro"
    event = AuditEvent.objects.get(action=Action.DEVICE_CHANGED)
    assert event.details["change"] == "renamed"
    assert event.details["previous"] == "Application d'authentification « Téléphone »"
    mail = mail_about(outbox, "Un moyen de double authentification a été renommé")
    assert mail.to == [member.email]
    assert "« Téléphone pro » (anciennement : Application d'authentification « Téléphone »)" in mail.body


@pytest.mark.parametrize(
    ("name", "error"),
    [("", "Donnez un nom à l'appareil."), ("x" * 65, "Le nom de l'appareil ne peut pas dépasser 64 caractères.")],
)
def test_a_wrong_name_is_said_next_to_the_field(sign_in, member, phone, name, error):
    response = sign_in(member).post(url("device_rename", phone), {"name": name})

    assert response.status_code == 200
    assert response.context["form"].errors["name"] == [error]
    phone.refresh_from_db()
    assert phone.name == "Téléphone"
    assert not AuditEvent.objects.filter(action=Action.DEVICE_CHANGED).exists()


def test_the_default_is_chosen_audited_and_mailed(sign_in, member, phone, outbox):
    client = sign_in(member)

    response = client.post(url("device_make_default", email_device(member)))

    assert response.status_code == 302 and response.url == DEVICES
    assert settings_of(member).default_device == email_device(member).persistent_id
    assert default_device(member) == email_device(member)
    assert AuditEvent.objects.get(action=Action.DEVICE_CHANGED).details["change"] == "made_default"
    assert mail_about(outbox, "Votre moyen de double authentification par défaut a changé").to == [member.email]
    assert client.get(url("device_make_default", phone)).status_code == 405


def test_removing_needs_a_recent_re_authentication(sign_in, member, phone):
    client = sign_in(member, fresh=False)

    page = client.get(url("device_remove", phone))
    posted = client.post(url("device_remove", phone))

    assert page.status_code == 302 and page.url.startswith(reverse("accounts:confirm_password"))
    assert posted.status_code == 302 and posted.url.startswith(reverse("accounts:confirm_password"))
    assert TOTPDevice.objects.filter(pk=phone.pk).exists()


def test_removing_one_of_two_applications_keeps_the_recovery_codes(sign_in, member, phone, outbox):
    client = sign_in(member)
    tablet = add_application(client, member, "Tablette")
    client.post(url("device_make_default", tablet))

    page = client.get(url("device_remove", tablet)).content.decode()
    response = client.post(url("device_remove", tablet))

    assert "vos codes de secours seront supprimés aussi" not in page
    assert response.status_code == 302 and response.url == DEVICES
    assert not TOTPDevice.objects.filter(pk=tablet.pk).exists()
    assert RecoveryCode.objects.filter(device__user=member).count() == 10
    assert settings_of(member).default_device == ""  # the default went with it: the strongest left is asked
    assert default_device(member) == phone
    event = AuditEvent.objects.get(action=Action.DEVICE_REMOVED)
    assert event.details == {"device": "Application d'authentification « Tablette »", "recovery_codes_removed": False}
    mail = mail_about(outbox, "Un moyen de double authentification a été supprimé")
    assert mail.to == [member.email] and "Tablette" in mail.body


def test_removing_the_last_application_removes_the_recovery_codes_and_says_so(sign_in, member, phone, outbox):
    client = sign_in(member)

    page = client.get(url("device_remove", phone)).content.decode()
    client.post(url("device_remove", phone))

    assert "vos codes de secours seront supprimés aussi" in page
    assert recovery_device(member) is None and not RecoveryCode.objects.exists()
    after = client.get(DEVICES).content.decode()
    assert "vos codes de secours sont supprimés aussi" in after
    assert "Générer de nouveaux codes de secours" not in after
    assert AuditEvent.objects.get(action=Action.DEVICE_REMOVED).details["recovery_codes_removed"] is True
    assert (
        "vos codes de secours sont supprimés aussi"
        in mail_about(outbox, "Un moyen de double authentification a été supprimé").body
    )


def test_removing_the_device_this_session_passed_with_keeps_the_session_verified(sign_in, member, phone):
    client = sign_in(member)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = phone.persistent_id
    session.save()

    client.post(url("device_remove", phone))

    assert client.session[DEVICE_ID_SESSION_KEY] == email_device(member).persistent_id
    assert client.get(reverse("structures:structure_list")).status_code == 200
