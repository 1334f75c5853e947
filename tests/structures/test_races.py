"""Bank details changed by two managers at once, on PostgreSQL: one default, no error."""

import pytest
from django.urls import reverse

from structures.models import BankAccount
from tests.accounts.test_races import run_together
from tests.factories import BankAccountFactory
from tests.structures.conftest import IBAN, OTHER_IBAN, upload

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("postgresql_only")]


@pytest.fixture
def two_managers(manager, second_manager, sign_in):
    return [sign_in(manager), sign_in(second_manager)]


def test_two_first_accounts_created_at_once_make_one_default(farm, two_managers):
    data = [
        {"label": "Compte A", "structure": farm.pk, "iban": IBAN, "bic": "AGRIFRPP"},
        {"label": "Compte B", "structure": farm.pk, "iban": OTHER_IBAN, "bic": "PSSTFRPP"},
    ]
    url = reverse("structures:bank_account_create")

    responses = run_together(
        *[lambda c=c, d=d: c.post(url, {**d, "rib_file": upload()}) for c, d in zip(two_managers, data, strict=True)]
    )

    assert [r.status_code for r in responses] == [302, 302], responses
    assert BankAccount.objects.count() == 2
    assert BankAccount.objects.filter(is_default=True).count() == 1


def test_one_iban_registered_twice_at_once_is_saved_once(farm, two_managers):
    url = reverse("structures:bank_account_create")
    data = {"structure": farm.pk, "iban": IBAN, "bic": "AGRIFRPP"}

    responses = run_together(
        *[
            lambda c=c, n=n: c.post(url, {**data, "label": f"Compte {n}", "rib_file": upload()})
            for n, c in enumerate(two_managers)
        ]
    )

    assert sorted(r.status_code for r in responses) == [200, 302], responses
    refused = next(r for r in responses if r.status_code == 200)
    assert "Cet IBAN est déjà enregistré pour cette structure." in refused.text
    assert BankAccount.objects.count() == 1


def test_two_managers_choosing_different_defaults_at_once_leave_one(farm, two_managers):
    accounts = [
        BankAccountFactory(structure=farm, label="A", is_default=True),
        BankAccountFactory(structure=farm, label="B", iban=OTHER_IBAN, is_default=False),
        BankAccountFactory(structure=farm, label="C", iban="DE89370400440532013000", is_default=False),
    ]

    responses = run_together(
        *[
            lambda c=c, a=a: c.post(reverse("structures:bank_account_make_default", args=[a.pk]))
            for c, a in zip(two_managers, accounts[1:], strict=True)
        ]
    )

    assert [r.status_code for r in responses] == [302, 302], responses
    assert BankAccount.objects.filter(structure=farm, is_default=True).count() == 1


def test_a_rename_racing_a_creation_with_the_same_name_keeps_names_unique(farm, two_managers):
    existing = BankAccountFactory(structure=farm, label="Ancien nom", iban=OTHER_IBAN)
    renamer, creator = two_managers

    responses = run_together(
        lambda: renamer.post(
            reverse("structures:bank_account_update", args=[existing.pk]), {"label": "Compte exploitation"}
        ),
        lambda: creator.post(
            reverse("structures:bank_account_create"),
            {"label": "Compte exploitation", "structure": farm.pk, "iban": IBAN, "rib_file": upload()},
        ),
    )

    assert sorted(r.status_code for r in responses) == [200, 302], responses
    assert BankAccount.objects.filter(structure=farm, label="Compte exploitation").count() == 1
