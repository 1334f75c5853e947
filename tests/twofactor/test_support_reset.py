"""Support's « Réinitialiser la double authentification » (PRODUCT §8): for a user who lost their application or
key, back to the e-mail code, the user told at their login address, the audit trail naming the agent."""

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from audit.models import Action, AuditEvent
from tests.factories import UserFactory
from tests.signing_in import current_code
from twofactor.devices import default_device, email_device, settings_of
from twofactor.models import RecoveryCode, RecoveryCodeDevice, SecondFactor, recovery_code_digest

USERS = reverse("admin:accounts_user_changelist")
ACTION = "reset_second_factor"
KEY = "3132333435363738393031323334353637383930"  # the application's secret: never on a page


@pytest.fixture
def caller(db):
    """A farmer who lost the phone with their application: they also have recovery codes and chose the phone."""
    user = UserFactory(email="jeanne@exemple.fr", first_name="Jeanne")
    phone = TOTPDevice.objects.create(user=user, name="Téléphone de Jeanne", confirmed=True, key=KEY)
    recovery = RecoveryCodeDevice.objects.create(user=user, name="Codes de secours", confirmed=True)
    RecoveryCode.objects.create(device=recovery, digest=recovery_code_digest("ABCDE-FGHIJ"))
    SecondFactor.objects.create(user=user, default_device=phone.persistent_id)
    return user


def account_page(user) -> str:
    return reverse("admin:accounts_user_change", args=[user.pk])


def reset(agent, user, **data):
    return agent.post(USERS, {"action": ACTION, "_selected_action": [user.pk], "confirm": "1", **data}, follow=True)


def test_the_account_page_lists_the_devices_without_their_secrets(agent, caller):
    page = agent.get(account_page(caller)).text
    phone = TOTPDevice.objects.get(user=caller)

    assert "Double authentification" in page
    assert "Application d&#x27;authentification « Téléphone de Jeanne », ajout le" in page
    assert "jamais utilisé (par défaut)" in page
    assert "Codes de secours : 1 restant(s) sur 10" in page
    assert "Code par courriel, à jeanne@exemple.fr" in page
    assert phone.key not in page and "ABCDE" not in page and recovery_code_digest("ABCDE-FGHIJ") not in page


def test_the_action_asks_for_confirmation_first_and_changes_nothing_yet(agent, caller, outbox):
    response = agent.post(account_page(caller), {"CHANGE_FORM-action": ACTION, "_selected_action": [caller.pk]})

    assert response.status_code == 200
    assert "Réinitialiser la double authentification de jeanne@exemple.fr" in response.text
    assert "est bien lui qui le demande" in response.text
    assert "Téléphone de Jeanne" in response.text
    assert TOTPDevice.objects.filter(user=caller).exists()
    assert outbox() == []


def test_support_resets_back_to_the_mailed_code(agent, agent_account, caller, outbox):
    generation = settings_of(caller).trust_generation

    response = reset(agent, caller)

    assert "Double authentification de jeanne@exemple.fr réinitialisée" in response.text
    assert not TOTPDevice.objects.filter(user=caller).exists()
    assert not RecoveryCodeDevice.objects.filter(user=caller).exists() and not RecoveryCode.objects.exists()
    assert default_device(caller) == email_device(caller)
    assert settings_of(caller).trust_generation == generation + 1
    event = AuditEvent.objects.get(action=Action.SECOND_FACTOR_RESET)
    assert event.actor == agent_account and event.target == "jeanne@exemple.fr"


def test_the_user_is_told_at_their_login_address(agent, caller, outbox):
    reset(agent, caller)

    [mail] = [m for m in outbox() if m.to == ["jeanne@exemple.fr"]]
    assert mail.subject == "Votre double authentification a été réinitialisée"
    assert "l'équipe du portail a réinitialisé la double authentification" in mail.body
    assert "un code vous sera envoyé par courriel" in mail.body
    assert "Si vous n'avez pas demandé cette réinitialisation au support" in mail.body


def test_security_keys_go_too(agent, caller):
    WebAuthnCredential.objects.create(
        user=caller, name="Clé USB", confirmed=True, credential_id=b"\x01" * 16, public_key=b"\x02" * 16
    )

    reset(agent, caller)

    assert not WebAuthnCredential.objects.filter(user=caller).exists()


def test_a_session_verified_by_the_lost_phone_is_asked_the_mailed_code(agent, caller, outbox):
    browser = Client()
    browser.force_login(caller)
    session = browser.session
    session["otp_device_id"] = TOTPDevice.objects.get(user=caller).persistent_id
    session.save()

    reset(agent, caller)

    assert browser.get(reverse("accounts:profile")).url.startswith(reverse("twofactor:verify"))
    browser.post(reverse("twofactor:send_code"))
    assert browser.post(reverse("twofactor:verify"), {"code": current_code(email_device(caller))}).status_code == 302
    assert browser.get(reverse("accounts:profile")).status_code == 200


def test_support_cannot_reset_a_staff_account(agent, outbox):
    colleague = UserFactory(email="collegue@exemple.fr", is_staff=True)
    TOTPDevice.objects.create(user=colleague, name="Téléphone", confirmed=True)

    response = reset(agent, colleague)

    assert "se change par un superutilisateur" in response.text
    assert TOTPDevice.objects.filter(user=colleague).exists()
    assert not AuditEvent.objects.filter(action=Action.SECOND_FACTOR_RESET).exists() and outbox() == []


def test_one_account_at_a_time(agent, caller, member, outbox):
    response = agent.post(
        USERS, {"action": ACTION, "_selected_action": [caller.pk, member.pk], "confirm": "1"}, follow=True
    )

    assert "Sélectionnez un seul compte." in response.text
    assert TOTPDevice.objects.filter(user=caller).exists() and outbox() == []


def test_staff_without_the_change_permission_cannot(db, caller, outbox):
    reader = UserFactory(is_staff=True)
    reader.user_permissions.add(*_view_user())
    browser = Client()
    browser.force_login(reader)

    browser.post(USERS, {"action": ACTION, "_selected_action": [caller.pk], "confirm": "1"})

    assert TOTPDevice.objects.filter(user=caller).exists() and outbox() == []


def _view_user():
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(content_type__app_label="accounts", codename="view_user")
