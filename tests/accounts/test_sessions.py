"""Sessions end when they should: on every device at sign-out, deactivation and reset; never revived."""

import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.urls import reverse

from audit.models import Action, AuditEvent
from tests.factories import PASSWORD
from tests.signing_in import sign_in_with_password

PROFILE = reverse("accounts:profile")


def signed_in_browser(user) -> Client:
    """Signed in through both steps: the password, then the mailed code."""
    browser = Client()
    response = sign_in_with_password(browser, user.email)
    assert response.status_code == 302 and response.url == reverse("home")
    return browser


def signed_in(browser: Client) -> bool:
    return browser.get(PROFILE).status_code == 200


def test_sign_out_ends_the_session_on_every_device(member):
    phone, office = signed_in_browser(member), signed_in_browser(member)
    stolen_key = phone.cookies["sessionid"].value

    phone.post(reverse("accounts:sign_out"))

    assert not signed_in(phone) and not signed_in(office)
    replayed = Client()
    replayed.cookies["sessionid"] = stolen_key
    assert not signed_in(replayed)
    assert signed_in(signed_in_browser(member))  # and one signs in again as before


def test_a_deactivated_account_reactivated_by_staff_does_not_revive_old_sessions(member, client):
    phone, office = signed_in_browser(member), signed_in_browser(member)
    phone.post(reverse("accounts:deactivate"), {"password": PASSWORD, "confirm": "on"})

    member.refresh_from_db()
    member.is_active = True
    member.save()

    assert not signed_in(office)


def test_deactivation_by_staff_in_the_admin_ends_every_session(member, django_user_model):
    office = signed_in_browser(member)
    support = Client()
    support.force_login(django_user_model.objects.create_superuser("support@exemple.fr", PASSWORD, first_name="S"))
    form = support.get(reverse("admin:accounts_user_change", args=[member.pk]))
    data = {
        name: value
        for name, value in re.findall(r'<input type="(?:text|email|hidden)" name="([^"]+)" value="([^"]*)"', form.text)
    }
    data.update(is_active="", first_name=member.first_name, last_name=member.last_name, email=member.email)
    data.update({"memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"})

    response = support.post(reverse("admin:accounts_user_change", args=[member.pk]), data)

    assert response.status_code == 302, response.text[:2000]
    member.refresh_from_db()
    assert not member.is_active
    assert AuditEvent.objects.filter(action=Action.DEACTIVATED, target=member.email).exists()
    member.is_active = True
    member.save()
    assert not signed_in(office)


def test_a_password_reset_ends_every_session(member, client, outbox):
    office = signed_in_browser(member)
    client.post(reverse("accounts:password_reset"), {"email": member.email})
    [link] = [m[0] for m in (re.search(r"https?://\S+/mot-de-passe-oublie/\S+/", o.body) for o in outbox()) if m]
    form_url = client.get(link).url
    new = "Colza-Orge-Luzerne-77"

    client.post(form_url, {"new_password1": new, "new_password2": new})

    assert not signed_in(office)


def test_sign_in_starts_a_new_session_key(client, member):
    client.get(reverse("accounts:login"))
    client.cookies["sessionid"] = "fixation-attempt-key-0123456789"
    before = client.cookies["sessionid"].value

    client.post(reverse("accounts:login"), {"username": member.email, "password": PASSWORD})

    after = client.cookies["sessionid"].value
    assert after != before
    assert SessionStore(session_key=after).get(SESSION_KEY) == str(member.pk)


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/", "/\\evil.example", "https:evil"])
def test_next_never_leaves_the_portal(client, member, next_url):
    response = sign_in_with_password(client, member.email, next_url=next_url)
    assert response.status_code == 302 and response.url == reverse("home")


def test_signing_out_of_the_admin_ends_the_other_sessions_too(django_user_model):
    support = django_user_model.objects.create_superuser("support@exemple.fr", PASSWORD, first_name="S")
    office, laptop = signed_in_browser(support), signed_in_browser(support)

    laptop.post(reverse("admin:logout"))

    assert office.get(reverse("admin:index")).status_code == 302


def test_saving_a_copy_loaded_before_the_sign_out_does_not_revive_the_sessions(member):
    office = signed_in_browser(member)
    stale = type(member).objects.get(pk=member.pk)  # e.g. a profile form posted from another tab
    member.end_sessions()

    stale.first_name = "Paulo"
    stale.save()

    assert not signed_in(office)
    assert type(member).objects.get(pk=member.pk).first_name == "Paulo"
