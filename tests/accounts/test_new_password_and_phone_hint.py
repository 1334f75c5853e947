"""A new password must be new; the telephone's hint and its error give the same example."""

import re

from django.urls import reverse

from accounts.forms import SAME_PASSWORD
from chorus.validators import PHONE_EXAMPLE
from tests.factories import PASSWORD

NEW_PASSWORD = "Colza-Orge-Luzerne-77"
SAME_PASSWORD_HTML = SAME_PASSWORD.replace("'", "&#x27;")


def reset_form_url(client, member, outbox) -> str:
    client.post(reverse("accounts:password_reset"), {"email": member.email})
    link = re.search(r"https?://\S+/mot-de-passe-oublie/\S+/", outbox()[-1].body).group(0)
    return client.get(link).url


def test_a_reset_to_the_same_password_is_refused_next_to_the_field(client, member, outbox):
    form_url = reset_form_url(client, member, outbox)

    response = client.post(form_url, {"new_password1": PASSWORD, "new_password2": PASSWORD})

    assert response.status_code == 200
    assert SAME_PASSWORD_HTML in response.text
    assert 'id="id_new_password1"' in response.text and 'aria-invalid="true"' in response.text
    member.refresh_from_db()
    assert member.check_password(PASSWORD)


def test_a_reset_to_a_new_password_still_works(client, member, outbox):
    form_url = reset_form_url(client, member, outbox)

    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)


def test_a_change_to_the_same_password_is_refused_by_the_same_rule(client, member):
    client.force_login(member)

    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": PASSWORD, "new_password2": PASSWORD},
    )

    assert response.status_code == 200
    assert SAME_PASSWORD_HTML in response.text


def test_the_sign_up_phone_hint_gives_the_error_s_example(client, db):
    assert f"Exemple : {PHONE_EXAMPLE}" in client.get(reverse("accounts:signup")).text


def test_the_profile_phone_hint_and_error_give_one_example(client, member):
    client.force_login(member)

    response = client.post(reverse("accounts:profile"), {"first_name": "Paul", "last_name": "Membre", "phone": "12"})

    assert f"Exemple : {PHONE_EXAMPLE}" in response.text
    assert f"par exemple {PHONE_EXAMPLE}." in response.text


def test_the_change_form_never_tells_a_wrong_current_password_s_guess_apart(client, member):
    """A stolen session typing guesses as the new password learns nothing while the current one is wrong."""
    client.force_login(member)

    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": "Pas-le-bon-2031", "new_password1": PASSWORD, "new_password2": PASSWORD},
    )

    assert "Le mot de passe actuel est incorrect." in response.text
    assert SAME_PASSWORD_HTML not in response.text
