"""Addresses that pass for another one, or that no mail could reach, are refused next to the field on every form."""

import re
from html import unescape

import pytest
from django.urls import reverse

from accounts.models import User
from tests.factories import PASSWORD

LOOK_ALIKE = "carol@\u0430.test"  # a Cyrillic « а »
LINE_SEPARATOR = "carol@a\u2028b.test"
MIXED = "mélange plusieurs alphabets (cyrillique et latin)"
SEPARATOR = "contient un espace ou un saut de ligne"
REFUSED = {LOOK_ALIKE: MIXED, LINE_SEPARATOR: SEPARATOR}


def error_next_to(response, field: str) -> str:
    """The message shown under the field, as read on the page."""
    found = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', response.content.decode(), re.S)
    return unescape(re.sub(r"<[^>]+>", "", found[1])) if found else ""


@pytest.mark.parametrize("address", REFUSED)
def test_sign_up_refuses_the_address_next_to_the_field(client, signup_data, address):
    response = client.post(reverse("accounts:signup"), signup_data(email=address))

    assert response.status_code == 200
    assert REFUSED[address] in error_next_to(response, "email")
    assert not User.objects.exists()


@pytest.mark.parametrize("address", REFUSED)
def test_sign_up_refuses_it_as_the_contact_address_too(client, signup_data, address):
    response = client.post(reverse("accounts:signup"), signup_data(contact_email=address))

    assert REFUSED[address] in error_next_to(response, "contact_email")
    assert not User.objects.exists()


@pytest.mark.parametrize("address", ["jeanne@exémple.fr", "jeanne@пример.рф"])
def test_sign_up_accepts_accented_latin_and_a_domain_wholly_in_another_script(client, signup_data, address):
    response = client.post(reverse("accounts:signup"), signup_data(email=address))

    assert (response.status_code, response.url) == (302, reverse("accounts:signup_done"))
    assert User.objects.get().email == address


def test_beside_an_account_its_look_alike_cannot_be_registered(client, signup_data, member):
    member.email = "carol@a.test"
    member.save()

    response = client.post(reverse("accounts:signup"), signup_data(email=LOOK_ALIKE))

    assert MIXED in error_next_to(response, "email")
    assert list(User.objects.values_list("email", flat=True)) == ["carol@a.test"]


@pytest.mark.parametrize("address", REFUSED)
def test_sign_in_says_what_is_wrong_with_the_address(client, db, address):
    response = client.post(reverse("accounts:login"), {"username": address, "password": PASSWORD})

    assert response.status_code == 200
    assert REFUSED[address] in error_next_to(response, "username")


@pytest.mark.parametrize("url", ["accounts:password_reset", "accounts:resend_activation"])
@pytest.mark.parametrize("address", REFUSED)
def test_reset_and_a_new_activation_link_say_so_too(client, db, url, address, outbox):
    response = client.post(reverse(url), {"email": address})

    assert response.status_code == 200
    assert REFUSED[address] in error_next_to(response, "email")
    assert outbox() == []


@pytest.mark.parametrize("address", REFUSED)
def test_the_profile_refuses_it_as_the_contact_address(sign_in, member, address, outbox):
    response = sign_in(member).post(
        reverse("accounts:contact_email_change"), {"contact_email": address, "password": PASSWORD}
    )

    assert response.status_code == 200
    assert REFUSED[address] in error_next_to(response, "contact_email")
    member.refresh_from_db()
    assert member.contact_email == ""
    assert outbox() == []
