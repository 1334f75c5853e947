"""The strength meter says « trop courant » as the server does, and the server says each rule once."""

import json
from functools import cache

import pytest
from django.contrib.auth.password_validation import validate_password
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.data.build_blocklist import browser_list, build
from accounts.models import User
from accounts.validators import common_passwords, common_stems, is_common, password_stem
from tests.factories import PASSWORD, UserFactory


def refusals(password, user=None) -> list[str]:
    try:
        validate_password(password, user)
    except ValidationError as error:
        return error.messages
    return []


@cache
def meter_lists() -> dict[str, frozenset[str]]:
    """The lists the browser downloads, as the page's static URL serves them."""
    path = finders.find("accounts/common-passwords.json")
    assert path, "the meter's list is a static file"
    with open(path, encoding="utf-8") as data:
        return {name: frozenset(entries) for name, entries in json.load(data).items()}


def meter_says_common(password: str) -> bool:
    """static/js/portal.js's comparison, written again here: stem in the stems, or the whole password listed."""
    lists = meter_lists()
    return password_stem(password) in lists["stems"] or password.lower().strip() in lists["whole"]


def test_motdepasse_is_called_too_common_once():
    messages = refusals("motdepasse")

    assert sum("trop courant" in message for message in messages) == 1
    assert len(messages) == len(set(messages))


def test_a_padded_common_word_is_refused_as_too_common_and_the_meter_says_so():
    assert any("trop courant" in message for message in refusals("Moissonneuse#2026"))
    assert meter_says_common("Moissonneuse#2026")


@pytest.mark.parametrize(
    "password",
    ["Moissonneuse#2026", "motdepasse", "Azerty123456!", "P@ssw0rd2024", "123456789Abc", "  Soleil1975!!  "],
)
def test_the_meter_and_the_server_agree_on_common_passwords(password):
    server = any("trop courant" in message for message in refusals(password))

    assert server and meter_says_common(password)


def test_a_strong_password_is_common_for_neither():
    assert refusals("Tracteur-Bleu-Colza-2031") == []
    assert not meter_says_common("Tracteur-Bleu-Colza-2031")


def test_the_meters_list_is_the_servers():
    """Rebuilt from the same sources: a change to the server's list without the meter's fails here."""
    lists = meter_lists()

    assert build() == common_stems() == lists["stems"]
    assert {name: set(entries) for name, entries in browser_list(set(common_stems())).items()} == lists
    # Every one of Django's common passwords is « trop courant » for the meter, as for Django's validator.
    assert all(meter_says_common(password) for password in common_passwords())
    assert all(is_common(password) for password in common_passwords())


def test_a_password_built_on_the_name_is_refused_once(db):
    """Django's similarity check and the portal's personal-data check both see « Moissonneur »: one message."""
    user = User(email="moissonneur@exemple.fr", first_name="Jeanne", last_name="Martin")

    messages = refusals("Moissonneur1!", user)

    assert len(messages) == 1
    assert "semblable" in messages[0] or "votre nom" in messages[0]


def test_the_personal_data_rule_still_speaks_when_the_similarity_check_does_not(db):
    user = User(email="jeanne.martin@exemple.fr", first_name="Jeanne", last_name="Martin")

    assert refusals("Martin-Jeanne-24", user) == [
        "Le mot de passe ne doit pas contenir votre adresse électronique, votre nom, votre prénom ou votre SIRET."
    ]


def test_the_password_pages_show_the_rule_and_where_the_meter_finds_the_list(sign_in):
    page = sign_in(UserFactory()).get(reverse("accounts:password_change")).content.decode()

    assert 'data-rule="common"' in page and "Pas un mot de passe trop courant" in page
    assert 'data-common-passwords="/static/accounts/common-passwords.json"' in page
    assert "ni contenir votre adresse électronique, votre nom, votre prénom ou votre SIRET" in page


def test_the_password_change_form_says_too_common_once_for_motdepasse(sign_in):
    client = sign_in(UserFactory())

    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": "motdepasse", "new_password2": "motdepasse"},
    )

    errors = response.context["form"].errors["new_password1"]
    assert sum("trop courant" in error for error in errors) == 1
    assert response.content.decode().count("Ce mot de passe est trop courant") == 2  # the summary, then the field
