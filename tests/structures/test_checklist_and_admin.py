"""The home checklist for steps 3–4, and what support sees in the admin."""

import pytest
from django.urls import reverse

from tests.factories import BankAccountFactory, StructureFactory, UserFactory


def steps(client):
    return {step.number: step for step in client.get(reverse("home")).context["home"].steps}


def test_bank_details_step_is_done_once_a_default_account_with_a_rib_exists(sign_in, manager, farm):
    client = sign_in(manager)
    step = steps(client)[3]
    assert not step.done and step.links[0].url == f"{reverse('structures:bank_account_create')}?structure={farm.pk}"

    BankAccountFactory(structure=farm, is_default=False)
    assert not steps(client)[3].done

    BankAccountFactory(structure=farm, label="Par défaut", iban="FR1420041010050500013M02606", is_default=True)
    assert steps(client)[3].done


def test_structure_step_is_done_once_category_and_pacage_are_given(sign_in, manager, farm):
    client = sign_in(manager)
    assert steps(client)[4].links[0].url == reverse("structures:structure_update", args=[farm.pk])

    farm.beneficiary_category = "individual_farmer"
    farm.save()
    assert not steps(client)[4].done

    farm.pacage = "026123456"
    farm.save()
    assert steps(client)[4].done


def test_a_simple_user_gets_no_link_they_could_not_use(sign_in, attached):
    home = sign_in(attached).get(reverse("home")).text
    assert "Créer une coordonnée bancaire" not in home and "Modifier la structure" not in home
    assert "pas encore enregistrés ; un gestionnaire de la structure s&#x27;en charge" in home


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True, email="support@exemple.fr"))
    return client


def test_support_finds_a_structure_by_siret_name_or_pacage(admin_client):
    wanted = StructureFactory(name="GAEC du Vercors", pacage="026999888", beneficiary_category="farming_company")
    StructureFactory(name="SCEA Lointaine")
    changelist = reverse("admin:structures_structure_changelist")

    for query in [wanted.siret, "vercors", "026999888"]:
        page = admin_client.get(changelist, {"q": query}).text
        assert "GAEC du Vercors" in page and "SCEA Lointaine" not in page, query


def test_support_filters_structures_by_category_and_centre_flag(admin_client):
    StructureFactory(name="Centre Comptable", is_agricultural_centre=True)
    StructureFactory(name="CUMA du Plateau", beneficiary_category="cuma", pacage="026111222")
    changelist = reverse("admin:structures_structure_changelist")

    centres = admin_client.get(changelist, {"is_agricultural_centre__exact": "1"}).text
    cumas = admin_client.get(changelist, {"beneficiary_category__exact": "cuma"}).text

    assert "Centre Comptable" in centres and "CUMA du Plateau" not in centres
    assert "CUMA du Plateau" in cumas and "Centre Comptable" not in cumas


def test_structure_page_shows_memberships_and_masked_bank_accounts(admin_client, manager, farm):
    bank_account = BankAccountFactory(structure=farm)

    page = admin_client.get(reverse("admin:structures_structure_change", args=[farm.pk])).text

    assert manager.email in page
    assert "FR76 •••• … 189" in page
    assert reverse("structures:rib_download", args=[bank_account.pk]) in page
    assert f'name="siret" value="{farm.siret}"' not in page  # read-only once created


def test_bank_accounts_are_read_only_in_the_admin_with_their_history(admin_client, farm):
    bank_account = BankAccountFactory(structure=farm)
    changelist = admin_client.get(reverse("admin:structures_bankaccount_changelist")).text
    assert "FR76 •••• … 189" in changelist and "FR7630006000011234567890189" not in changelist

    change_url = reverse("admin:structures_bankaccount_change", args=[bank_account.pk])
    response = admin_client.post(change_url, {"iban": "FR1420041010050500013M02606", "label": "Volé"})
    assert response.status_code == 403
    bank_account.refresh_from_db()
    assert bank_account.label != "Volé"
    history = admin_client.get(reverse("admin:structures_bankaccount_history", args=[bank_account.pk]))
    assert history.status_code == 200


def test_staff_download_a_rib_from_the_admin_link(admin_client, farm):
    bank_account = BankAccountFactory(structure=farm)

    response = admin_client.get(reverse("structures:rib_download", args=[bank_account.pk]))

    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize("model", ["bankaccount", "membership", "structure"])
def test_the_admin_history_cannot_revert_anything(admin_client, sign_in, manager, farm, model):
    bank_account = BankAccountFactory(structure=farm, label="Ancien nom")
    bank_account.label = "Nouveau nom"
    bank_account.save()
    farm.name = "Nouveau libellé"
    farm.save()
    membership = manager.memberships.get()
    membership.role = "manager"
    membership.save()
    obj = {"bankaccount": bank_account, "membership": membership, "structure": farm}[model]
    oldest = obj.history.order_by("history_id").first()
    url = reverse(f"admin:structures_{model}_simple_history", args=[obj.pk, oldest.history_id])

    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {}).status_code == 403

    for changed in [bank_account, farm, membership]:
        changed.refresh_from_db()
    assert (bank_account.label, farm.name, membership.role) == ("Nouveau nom", "Nouveau libellé", "manager")


def test_a_deleted_bank_account_cannot_be_brought_back_from_the_admin(admin_client, farm):
    bank_account = BankAccountFactory(structure=farm)
    pk, first = bank_account.pk, bank_account.history.get().history_id
    bank_account.delete()

    response = admin_client.post(reverse("admin:structures_bankaccount_simple_history", args=[pk, first]), {})

    assert response.status_code == 403
    assert not farm.bank_accounts.exists()
