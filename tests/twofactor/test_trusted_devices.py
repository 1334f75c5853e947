"""« Faire confiance à cet appareil pendant 30 jours » (PRODUCT §8, S14): the code skipped at sign-in on that
browser only, for that account only, until the password changes or the user forgets every trusted browser."""

from datetime import timedelta

import time_machine
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import Action, AuditEvent
from chorus import reauth
from tests.e2e.pages import SIGN_IN_CODE, application_code
from tests.factories import PASSWORD, UserFactory
from twofactor import trust, workflows
from twofactor.devices import email_device

LOGIN = reverse("accounts:login")
VERIFY = reverse("twofactor:verify")
FORGET = reverse("twofactor:forget_trusted")
NEW_PASSWORD = "Colza-Orge-Luzerne-77"


def type_password(client, user, password=PASSWORD, next_url=""):
    address = LOGIN + (f"?next={next_url}" if next_url else "")
    return client.post(address, {"username": user.email, "password": password})


def codes_mailed(outbox, user) -> int:
    return sum(1 for m in outbox() if m.to == [user.email] and SIGN_IN_CODE.search(m.body))


def last_code(outbox, user) -> str:
    [*_, mail] = [m for m in outbox() if m.to == [user.email] and SIGN_IN_CODE.search(m.body)]
    return SIGN_IN_CODE.search(mail.body).group(1)


def trusted_browser(user, outbox, client=None) -> Client:
    """Signs in with the mailed code, the box ticked, then signs out: the browser keeps the cookie."""
    client = client or Client()
    type_password(client, user)
    client.post(VERIFY, {"code": last_code(outbox, user), "trust": "on"})
    client.post(reverse("accounts:sign_out"))
    return client


def test_ticking_the_box_sets_a_signed_cookie_for_30_days_that_scripts_cannot_read(client, member, outbox):
    type_password(client, member)

    response = client.post(VERIFY, {"code": last_code(outbox, member), "trust": "on"})

    cookie = response.cookies[trust.COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert cookie["max-age"] == 30 * 24 * 3600
    content = signing.loads(cookie.value, salt=trust.SALT)
    assert content["user"] == member.pk and content["device"] == email_device(member).persistent_id
    assert member.password not in cookie.value, "a digest of the hash, never the hash"


def test_the_cookie_is_secure_when_the_site_is_https(client, member, outbox, settings):
    type_password(client, member, secure=True) if False else None
    settings.SESSION_COOKIE_SECURE = True
    type_password(client, member)

    response = client.post(VERIFY, {"code": last_code(outbox, member), "trust": "on"})

    assert response.cookies[trust.COOKIE_NAME]["secure"]


def test_without_the_box_no_cookie(client, member, outbox):
    type_password(client, member)

    response = client.post(VERIFY, {"code": last_code(outbox, member)})

    assert trust.COOKIE_NAME not in response.cookies


def test_a_trusted_browser_signs_in_with_the_password_alone(member, outbox):
    browser = trusted_browser(member, outbox)
    mailed = codes_mailed(outbox, member)

    response = type_password(browser, member, next_url=reverse("accounts:profile"))

    assert response.status_code == 302 and response.url == reverse("accounts:profile")
    assert browser.get(reverse("accounts:profile")).status_code == 200
    assert codes_mailed(outbox, member) == mailed, "no code mailed"
    event = AuditEvent.objects.filter(action=Action.SECOND_FACTOR_PASSED, actor=member).latest("pk")
    assert event.details["trusted"] is True


def test_a_trusted_browser_still_asks_the_second_factor_before_bank_details(member, outbox):
    browser = trusted_browser(member, outbox)

    type_password(browser, member)

    assert reauth.SESSION_KEY not in browser.session, "the re-authentication window stays closed"


def test_the_password_is_still_asked(member, outbox):
    browser = trusted_browser(member, outbox)

    response = type_password(browser, member, password="Mauvais-Mot-2031")

    assert response.status_code == 200 and "incorrect" in response.text
    assert "_auth_user_id" not in browser.session


def test_another_accounts_cookie_is_ignored_and_deleted(member, outsider, outbox):
    browser = trusted_browser(member, outbox)

    response = type_password(browser, outsider)

    assert response.url.startswith(VERIFY)
    assert codes_mailed(outbox, outsider) == 1
    assert browser.cookies[trust.COOKIE_NAME].value == "", "deleted"
    assert browser.get(reverse("accounts:profile")).url.startswith(VERIFY)


def test_a_forged_cookie_is_ignored(client, member, outbox):
    forged = signing.dumps(
        {"user": member.pk, "generation": 0, "password": "0" * 32, "device": email_device(member).persistent_id},
        salt=trust.SALT,
        key="une-autre-clef-que-celle-du-portail",
    )
    client.cookies[trust.COOKIE_NAME] = forged

    response = type_password(client, member)

    assert response.url.startswith(VERIFY) and codes_mailed(outbox, member) == 1


def test_a_cookie_copied_from_another_account_with_its_pk_changed_is_ignored(member, outsider, outbox):
    browser = trusted_browser(outsider, outbox)
    value = browser.cookies[trust.COOKIE_NAME].value
    payload, rest = value.split(":", 1)
    browser.cookies[trust.COOKIE_NAME] = f"{payload}x:{rest}"

    assert type_password(browser, member).url.startswith(VERIFY)


def test_the_cookie_expires_after_30_days(member, outbox):
    browser = trusted_browser(member, outbox)

    with time_machine.travel(timezone.now() + timedelta(days=30, minutes=1)):
        response = type_password(browser, member)

    assert response.url.startswith(VERIFY)


def test_a_password_change_voids_every_trusted_browser(member, outbox, sign_in):
    browser = trusted_browser(member, outbox)
    member.refresh_from_db()  # signing out ended its sessions: a new generation
    elsewhere = sign_in(member)
    changed = elsewhere.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    response = type_password(browser, member, password=NEW_PASSWORD)

    assert changed.status_code == 302, changed
    assert response.url.startswith(VERIFY)
    assert browser.get(reverse("accounts:profile")).url.startswith(VERIFY)


def test_a_password_reset_voids_every_trusted_browser(member, outbox):
    browser = trusted_browser(member, outbox)
    workflows_reset_password(member)

    assert type_password(browser, member, password=NEW_PASSWORD).url.startswith(VERIFY)


def workflows_reset_password(user):
    from accounts.workflows import reset_password  # the layer above twofactor's, as the page would call it

    reset_password(user, NEW_PASSWORD)


def test_forgetting_every_browser_voids_them_and_this_ones_cookie(member, outbox):
    kept_elsewhere = trusted_browser(member, outbox)
    here = trusted_browser(member, outbox)
    type_password(here, member)

    response = here.post(FORGET, {"next": reverse("accounts:profile")})

    assert response.status_code == 302 and response.url == reverse("accounts:profile")
    assert response.cookies[trust.COOKIE_NAME].value == ""
    assert "la double authentification sera demandée à la prochaine connexion" in here.get(response.url).text
    assert AuditEvent.objects.filter(action=Action.TRUSTED_DEVICES_FORGOTTEN, actor=member).exists()
    assert type_password(kept_elsewhere, member).url.startswith(VERIFY)


def test_forgetting_asks_a_post_and_a_signed_in_user(client, member):
    assert client.get(FORGET).status_code == 405
    assert client.post(FORGET).url.startswith(reverse("accounts:login"))


def test_forgetting_never_redirects_off_site(sign_in, member):
    response = sign_in(member).post(FORGET, {"next": "https://evil.example/"})

    assert response.url == reverse("accounts:profile")


def test_a_support_reset_voids_every_trusted_browser(member, staff, outbox):
    browser = trusted_browser(member, outbox)
    workflows.reset(member, by=staff)

    assert type_password(browser, member).url.startswith(VERIFY)


def test_a_removed_device_voids_the_cookie_that_names_it(db, outbox):
    user = UserFactory()
    phone = TOTPDevice.objects.create(user=user, name="Téléphone", confirmed=True)
    browser = Client()
    type_password(browser, user)
    browser.post(VERIFY, {"code": application_code(phone), "device": phone.persistent_id, "trust": "on"})
    browser.post(reverse("accounts:sign_out"))
    phone.delete()

    assert type_password(browser, user).url.startswith(VERIFY)


def test_staff_trusted_after_the_mailed_code_do_not_get_the_admin(db, outbox, support_group):
    agent = UserFactory(is_staff=True)
    agent.groups.add(support_group)
    browser = trusted_browser(agent, outbox)

    type_password(browser, agent)

    assert browser.get(reverse("accounts:profile")).status_code == 200, "the portal opens"
    admin = browser.get(reverse("admin:index"), follow=True)
    assert admin.status_code == 403, "the admin asks for an application or a key"


def test_staff_trusted_after_their_application_get_the_admin(db, outbox, support_group):
    agent = UserFactory(is_staff=True)
    agent.groups.add(support_group)
    phone = TOTPDevice.objects.create(user=agent, name="Téléphone", confirmed=True)
    browser = Client()
    type_password(browser, agent)
    browser.post(VERIFY, {"code": application_code(phone), "device": phone.persistent_id, "trust": "on"})
    browser.post(reverse("accounts:sign_out"))

    type_password(browser, agent)

    assert browser.get(reverse("admin:index")).status_code == 200


def test_the_devices_page_offers_to_forget_and_comes_back_to_it(sign_in, member):
    browser = sign_in(member)
    devices = reverse("twofactor:devices")

    page = browser.get(devices).text
    response = browser.post(FORGET, {"next": devices})

    assert "Appareils de confiance" in page and "Oublier tous les appareils" in page and FORGET in page
    assert response.url == devices
