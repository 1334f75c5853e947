"""Security keys and passkeys (PRODUCT §8): added from « Double authentification » with a name, then asked
after the password instead of a code, under a code's rules (lockout, audit, a new session key).

`SoftKey` answers the ceremonies as a browser relays a real key's answers: a P-256 key pair, an attestation
of format « none », signatures over the authenticator data and the client data.
"""

import hashlib
import html
import json
import os
import time
from base64 import urlsafe_b64encode

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp_webauthn.models import WebAuthnCredential

from audit.models import Action, AuditEvent
from chorus import reauth
from tests.factories import PASSWORD
from twofactor import webauthn
from twofactor.devices import email_device
from twofactor.models import RecoveryCode

DEVICES = reverse("twofactor:devices")
VERIFY = reverse("twofactor:verify")
REGISTER_BEGIN = reverse("twofactor:webauthn_register_begin")
REGISTER = reverse("twofactor:webauthn_register")
VERIFY_BEGIN = reverse("twofactor:webauthn_verify_begin")
VERIFY_KEY = reverse("twofactor:webauthn_verify")
LOGIN = reverse("accounts:login")


@pytest.fixture(autouse=True)
def _keys_bound_to_the_test_client(settings):
    """The test client's requests come from http://testserver: keys are bound to it here."""
    settings.OTP_WEBAUTHN_RP_ID = "testserver"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = ["http://testserver"]


def b64(data: bytes) -> str:
    return urlsafe_b64encode(data).rstrip(b"=").decode()


class SoftKey:
    """A security key in software, answering as a browser would relay it."""

    def __init__(self):
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.sign_count = 0

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        origin = origin or settings.OTP_WEBAUTHN_ALLOWED_ORIGINS[0]
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}).encode()

    def _public_key(self) -> bytes:
        numbers = self.private.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    def _rp_hash(self) -> bytes:
        return hashlib.sha256(settings.OTP_WEBAUTHN_RP_ID.encode()).digest()

    def register(self, options: dict, origin: str | None = None) -> dict:
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        attested = bytes(16) + len(self.credential_id).to_bytes(2, "big") + self.credential_id + self._public_key()
        auth_data = self._rp_hash() + bytes([0x41]) + (0).to_bytes(4, "big") + attested
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": b64(self.credential_id),
            "rawId": b64(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(client_data),
                "attestationObject": b64(attestation),
                "transports": ["usb"],
            },
            "clientExtensionResults": {"credProps": {"rk": False}},
        }

    def answer(self, options: dict, origin: str | None = None) -> str:
        self.sign_count += 1
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        auth_data = self._rp_hash() + bytes([0x01]) + self.sign_count.to_bytes(4, "big")
        signature = self.private.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return json.dumps(
            {
                "id": b64(self.credential_id),
                "rawId": b64(self.credential_id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64(client_data),
                    "authenticatorData": b64(auth_data),
                    "signature": b64(signature),
                },
                "clientExtensionResults": {},
            }
        )


def add_key(client, key: SoftKey, name: str = "Clé USB bleue"):
    options = client.post(REGISTER_BEGIN, {"name": name}).json()
    return client.post(REGISTER, {"name": name, "credential": json.dumps(key.register(options))})


def owned_key(user, key: SoftKey) -> WebAuthnCredential:
    """A key already on the account, added through the pages in a session of its own."""
    client = Client()
    client.force_login(user)
    session = client.session
    session[reauth.SESSION_KEY] = int(time.time())
    session.save()
    assert add_key(client, key).status_code == 302
    return WebAuthnCredential.objects.get(user=user)


def password_only(user) -> Client:
    """A browser past the password, before the second factor."""
    client = Client()
    response = client.post(LOGIN, {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302 and response.url.startswith(VERIFY)
    return client


def use_key(client, key: SoftKey, next_url: str = "", **extra):
    options = client.post(VERIFY_BEGIN).json()
    return client.post(VERIFY_KEY, {"assertion": key.answer(options), "next": next_url, **extra})


# ---------------------------------------------------------------------------
# Adding a key


def test_a_key_is_added_under_its_name_audited_mailed_with_recovery_codes(sign_in, member, outbox):
    client = sign_in(member)

    response = add_key(client, SoftKey())

    device = WebAuthnCredential.objects.get(user=member)
    assert device.name == "Clé USB bleue" and device.confirmed
    assert response.status_code == 302 and response.url == reverse("twofactor:recovery_codes")
    codes = client.get(response.url).content.decode()
    assert "Codes de secours" in codes
    assert RecoveryCode.objects.filter(device__user=member).count() == 10
    assert AuditEvent.objects.filter(action=Action.DEVICE_ADDED, actor=member).exists()
    [mail] = [m for m in outbox() if m.to == [member.email]]
    assert "Clé de sécurité « Clé USB bleue »" in mail.body


def test_a_second_key_brings_no_new_recovery_codes(sign_in, member, outbox):
    client = sign_in(member)
    add_key(client, SoftKey(), "Première")
    first_codes = set(RecoveryCode.objects.values_list("digest", flat=True))

    response = add_key(client, SoftKey(), "Seconde")

    assert response.status_code == 302 and response.url == DEVICES
    assert set(RecoveryCode.objects.values_list("digest", flat=True)) == first_codes
    assert WebAuthnCredential.objects.filter(user=member).count() == 2


def test_the_devices_page_offers_the_key_with_its_script_and_no_inline_code(sign_in, member):
    page = sign_in(member).get(DEVICES).content.decode()

    assert "Ajouter une clé de sécurité" in page
    assert f'data-begin-url="{REGISTER_BEGIN}"' in page and f'action="{REGISTER}"' in page
    assert 'src="/static/js/webauthn.js"' in page
    assert "otp_webauthn_config" not in page  # the library's inline configuration is not used


@pytest.mark.parametrize(("name", "error"), [("   ", "Donnez un nom"), ("x" * 65, "64 caractères")])
def test_a_wrong_name_is_refused_before_the_key_is_asked(sign_in, member, name, error):
    response = sign_in(member).post(REGISTER_BEGIN, {"name": name})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_name" and error in response.json()["detail"]


def test_without_a_recent_password_no_key_is_added(sign_in, member):
    client = sign_in(member, fresh=False)

    begin = client.post(REGISTER_BEGIN, {"name": "Clé"})
    complete = client.post(REGISTER, {"name": "Clé", "credential": "{}"})

    assert begin.status_code == 403
    assert begin.json()["redirect"].startswith(reverse("accounts:confirm_password"))
    assert complete.status_code == 302 and complete.url.startswith(reverse("accounts:confirm_password"))
    assert not WebAuthnCredential.objects.exists()


def test_a_session_before_the_second_factor_adds_no_key(member):
    client = password_only(member)

    begin = client.post(REGISTER_BEGIN, {"name": "Clé"})
    complete = client.post(REGISTER, {"name": "Clé", "credential": "{}"})

    assert begin.status_code == 302 and begin.url.startswith(VERIFY)
    assert complete.status_code == 302 and complete.url.startswith(VERIFY)
    assert not WebAuthnCredential.objects.exists()


def test_an_answer_to_another_challenge_adds_nothing(sign_in, member, outbox):
    client = sign_in(member)
    client.post(REGISTER_BEGIN, {"name": "Clé"})

    response = client.post(
        REGISTER, {"name": "Clé", "credential": json.dumps(SoftKey().register({"challenge": "AAAA"}))}
    )

    assert response.status_code == 302 and response.url == DEVICES
    assert "La clé n'a pas pu être ajoutée" in html.unescape(client.get(DEVICES).content.decode())
    assert not WebAuthnCredential.objects.exists() and outbox() == []


def test_an_answer_from_another_site_adds_nothing(sign_in, member):
    client = sign_in(member)
    options = client.post(REGISTER_BEGIN, {"name": "Clé"}).json()

    credential = SoftKey().register(options, origin="https://hameconnage.example")
    client.post(REGISTER, {"name": "Clé", "credential": json.dumps(credential)})

    assert not WebAuthnCredential.objects.exists()


def test_a_key_already_on_another_account_is_refused_without_error(sign_in, member, outsider):
    key = SoftKey()
    owned_key(outsider, key)
    client = sign_in(member)

    response = add_key(client, key)

    assert response.status_code == 302 and response.url == DEVICES
    assert "La clé n'a pas pu être ajoutée" in html.unescape(client.get(DEVICES).content.decode())
    assert not WebAuthnCredential.objects.filter(user=member).exists()


def test_a_challenge_serves_once(sign_in, member):
    client = sign_in(member)
    key = SoftKey()
    options = client.post(REGISTER_BEGIN, {"name": "Clé"}).json()
    credential = json.dumps(key.register(options))
    client.post(REGISTER, {"name": "Clé", "credential": credential})
    WebAuthnCredential.objects.all().delete()

    response = client.post(REGISTER, {"name": "Clé", "credential": credential})

    assert "Le délai pour utiliser la clé est dépassé" in client.get(response.url).content.decode()
    assert not WebAuthnCredential.objects.exists()


def test_garbage_instead_of_an_answer_is_refused_without_error(sign_in, member):
    client = sign_in(member)
    client.post(REGISTER_BEGIN, {"name": "Clé"})

    response = client.post(REGISTER, {"name": "Clé", "credential": '{"id": 5, "response": []}'})

    assert response.status_code == 302 and not WebAuthnCredential.objects.exists()


# ---------------------------------------------------------------------------
# The key as the second factor


def test_the_verify_page_asks_for_the_key_rather_than_a_code(member):
    owned_key(member, SoftKey())
    client = password_only(member)

    page = client.get(VERIFY).content.decode()

    assert "Utiliser ma clé de sécurité" in page and f'action="{VERIFY_KEY}"' in page
    assert "Code de vérification" not in page  # no code to type for a key
    assert "Code par courriel" in page  # the other means stay offered


def test_the_right_key_verifies_the_session_as_a_code_does(member, settings):
    key = SoftKey()
    owned_key(member, key)
    client = password_only(member)
    half_open = client.session.session_key
    target = reverse("structures:structure_list")

    response = use_key(client, key, next_url=target)

    assert response.status_code == 302 and response.url == target
    assert client.get(target).status_code == 200
    assert client.session.session_key != half_open
    assert reauth.SESSION_KEY in client.session
    event = AuditEvent.objects.filter(action=Action.SECOND_FACTOR_PASSED, actor=member).latest("pk")
    assert event.details["device"] == "Clé de sécurité « Clé USB bleue »"


def test_the_key_opens_the_admin_to_staff(staff):
    key = SoftKey()
    owned_key(staff, key)
    staff.totpdevice_set.all().delete()  # the application of the test sessions: the key alone remains
    client = password_only(staff)

    use_key(client, key)

    assert client.get(reverse("admin:index")).status_code == 200


def test_another_accounts_key_is_refused_and_counted(member, outsider):
    owned_key(member, SoftKey())
    stranger = SoftKey()
    owned_key(outsider, stranger)
    client = password_only(member)

    response = use_key(client, stranger)

    assert response.status_code == 302 and response.url.startswith(VERIFY)
    assert "Votre clé n'a pas été reconnue" in html.unescape(client.get(response.url).content.decode())
    assert client.get(reverse("structures:structure_list")).url.startswith(VERIFY)  # still at the second step
    assert AuditEvent.objects.filter(action=Action.SECOND_FACTOR_FAILED).count() == 1


def test_without_the_password_there_is_no_ceremony(client, member):
    owned_key(member, SoftKey())

    begin = client.post(VERIFY_BEGIN)
    complete = client.post(VERIFY_KEY, {"assertion": "{}"})

    assert begin.status_code == 403 and begin.json()["code"] == "not_authenticated"
    assert complete.status_code == 302 and complete.url.startswith(LOGIN)


def test_an_answer_without_its_challenge_is_not_checked(member):
    key = SoftKey()
    owned_key(member, key)
    client = password_only(member)
    options = client.post(VERIFY_BEGIN).json()
    answer = key.answer(options)
    use_key_once = client.post(VERIFY_KEY, {"assertion": "{}"})  # spends the challenge, refused

    replayed = client.post(VERIFY_KEY, {"assertion": answer})

    assert use_key_once.url.startswith(VERIFY)
    assert replayed.url.startswith(VERIFY)
    assert "Le délai pour utiliser la clé est dépassé" in client.get(replayed.url).content.decode()
    assert client.get(reverse("structures:structure_list")).status_code == 302


def test_a_user_without_a_key_gets_no_challenge(member):
    client = password_only(member)

    response = client.post(VERIFY_BEGIN)

    assert response.status_code == 400 and "Aucune clé de sécurité" in response.json()["detail"]


def test_refused_answers_and_wrong_passwords_lock_the_account_together(member, settings):
    key = SoftKey()
    owned_key(member, key)
    Client().post(LOGIN, {"username": member.email, "password": "Mauvais-Mot-2031"})
    client = password_only(member)
    for _ in range(settings.AXES_FAILURE_LIMIT - 2):
        client.post(VERIFY_BEGIN)
        client.post(VERIFY_KEY, {"assertion": key.answer({"challenge": "AAAA"})})

    client.post(VERIFY_BEGIN)
    locked = client.post(VERIFY_KEY, {"assertion": key.answer({"challenge": "AAAA"})})
    again = password_only_refused(member)

    assert locked.status_code == settings.AXES_HTTP_RESPONSE_CODE
    assert "_auth_user_id" not in client.session
    assert again.status_code == settings.AXES_HTTP_RESPONSE_CODE  # even the right password, and the key, open nothing


def password_only_refused(user):
    return Client().post(LOGIN, {"username": user.email, "password": PASSWORD})


def test_the_right_key_clears_the_failures(member, settings):
    key = SoftKey()
    owned_key(member, key)
    client = password_only(member)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post(VERIFY_BEGIN)
        client.post(VERIFY_KEY, {"assertion": "{}"})

    use_key(client, key)
    client.post(reverse("accounts:sign_out"))

    assert password_only(member).post(VERIFY_BEGIN).status_code == 200


def test_trusting_the_browser_with_a_key_skips_the_second_factor_next_time(member):
    key = SoftKey()
    owned_key(member, key)
    client = password_only(member)

    use_key(client, key, trust="on")
    client.post(reverse("accounts:sign_out"))
    response = client.post(LOGIN, {"username": member.email, "password": PASSWORD})

    assert response.status_code == 302 and not response.url.startswith(VERIFY)


def test_at_an_address_keys_cannot_work_the_page_says_where_they_do(member, settings):
    settings.OTP_WEBAUTHN_RP_ID = "localhost"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = ["http://localhost:8000"]
    owned_key(member, SoftKey())
    client = password_only(member)

    page = html.unescape(client.get(VERIFY, HTTP_HOST="127.0.0.1:8000").content.decode())

    assert "Les clés de sécurité ne fonctionnent qu'à l'adresse http://localhost:8000" in page
    assert "Utiliser ma clé de sécurité" not in page


def test_the_library_urls_are_not_served(member):
    client = Client()
    client.force_login(member)

    assert client.post("/compte/double-authentification/webauthn/authentication/begin/").status_code == 404


def test_a_key_used_in_a_verified_session_does_not_stand_for_the_password(sign_in, member):
    key = SoftKey()
    owned_key(member, key)
    client = sign_in(member, fresh=False)  # signed in with the e-mail code, the password typed long ago

    response = use_key(client, key, next_url=reverse("accounts:profile"))

    assert response.status_code == 302 and response.url == reverse("accounts:profile")
    assert reauth.SESSION_KEY not in client.session  # « Confirmez votre identité » still asks for the password


def test_confirming_identity_by_key_keeps_the_device_signed_in_with(rf, member):
    key = SoftKey()
    device = owned_key(member, key)
    client = Client()
    client.force_login(member)  # signed in with the e-mail code
    options = client.post(VERIFY_BEGIN).json()
    request = rf.post("/", {"assertion": key.answer(options)})
    request.session = client.session
    request.user = member
    member.otp_device = email_device(member)

    confirmed = webauthn.confirm_identity(request)
    again = webauthn.confirm_identity(request)  # no challenge left: nothing checked

    assert confirmed == device and again is None
    assert request.session[DEVICE_ID_SESSION_KEY] == email_device(member).persistent_id
    assert AuditEvent.objects.filter(action=Action.SECOND_FACTOR_PASSED, actor=member).exists()
