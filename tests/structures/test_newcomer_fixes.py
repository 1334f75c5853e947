"""What a newcomer tripped on: a SIREN typed for a SIRET, the phone's example, an unnamed structure's SIRET twice."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from chorus.validators import PHONE_EXAMPLE
from structures.models import Membership
from structures.validators import SIREN_INSTEAD_OF_SIRET, clean_siret
from tests.factories import STRUCTURE_FORM, BankAccountFactory, MembershipFactory, StructureFactory


@pytest.mark.parametrize("typed", ["732829320", "732 829 320"])
def test_a_siren_typed_for_a_siret_is_named_and_the_siret_explained(typed):
    with pytest.raises(ValidationError) as error:
        clean_siret(typed)

    assert error.value.messages == [SIREN_INSTEAD_OF_SIRET]
    assert "c'est un SIREN" in SIREN_INSTEAD_OF_SIRET
    assert "suivi des 5 chiffres du NIC de l'établissement" in SIREN_INSTEAD_OF_SIRET


def test_other_lengths_still_say_fourteen_digits():
    with pytest.raises(ValidationError) as error:
        clean_siret("1234")

    assert error.value.messages == ["Le SIRET compte exactement 14 chiffres."]


def test_the_sign_up_form_says_siren_next_to_the_identifier(client, signup_data):
    response = client.post(reverse("accounts:signup"), signup_data(identifier="732829320"))

    assert "c&#x27;est un SIREN" in response.text


def test_the_structure_phone_hint_and_error_give_one_example(sign_in, manager, farm):
    response = sign_in(manager).post(
        reverse("structures:structure_update", args=[farm.pk]), {**STRUCTURE_FORM, "phone": "12"}
    )

    assert response.status_code == 200
    assert f"Exemple : {PHONE_EXAMPLE}" in response.text
    assert f"par exemple {PHONE_EXAMPLE}." in response.text


@pytest.fixture
def unnamed(manager):
    structure = StructureFactory(name="")
    MembershipFactory(user=manager, structure=structure, role=Membership.Role.MAIN_MANAGER)
    return structure


def test_the_structures_page_shows_an_unnamed_structure_s_siret_once(sign_in, manager, unnamed):
    response = sign_in(manager).get(reverse("structures:structure_list"))

    assert response.text.count(f"SIRET {unnamed.siret}") == 1  # the heading
    assert f"SIRET {unnamed.siret} ·" not in response.text


def test_the_structures_page_still_shows_a_named_structure_s_siret(sign_in, manager, farm):
    response = sign_in(manager).get(reverse("structures:structure_list"))

    assert f"SIRET {farm.siret} · Gestionnaire principal" in response.text


def test_a_bank_account_of_an_unnamed_structure_names_its_siret_once(sign_in, manager, unnamed):
    bank_account = BankAccountFactory(structure=unnamed)

    response = sign_in(manager).get(bank_account.get_absolute_url())

    assert f"(SIRET {unnamed.siret})" not in response.text
    assert f"SIRET {unnamed.siret}</a>" in response.text
