"""PRODUCT §7: the home's checklist speaks to its reader, by their role on each structure."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from approvals.models import ApprovalRequest
from refunds.models import Campaign
from structures.models import Membership, Structure
from tests.factories import (
    STRUCTURE_FORM,
    ApprovalRequestFactory,
    BankAccountFactory,
    MembershipFactory,
    RefundRequestFactory,
    StructureFactory,
    UserFactory,
    activated_accounts,
)
from tests.portal.test_home import text


def home(client, user) -> str:
    client.force_login(user)
    return text(client.get(reverse("home")))


@pytest.fixture
def complete_farm(farm, manager, private_media):
    """The farm with its bank details and RIB, category and PACAGE, all set by its main manager."""
    BankAccountFactory(structure=farm, created_by=manager)
    farm.beneficiary_category = Structure.BeneficiaryCategory.FARMING_COMPANY
    farm.pacage = "026123456"
    farm._history_user = manager
    farm.save()
    return farm


def file_every_open_year(farm) -> None:
    """Step 6 done: a sent request for each year whose campaign is open today (there may be none)."""
    for year in Campaign.objects.open_now().values_list("year", flat=True):
        RefundRequestFactory(structure=farm, year=year, status="filed", number=f"TIC-{year}-{farm.pk:06d}")


def test_a_main_manager_has_steps_3_and_4_to_do_with_their_links(client, manager, farm):
    page = home(client, manager)

    assert f"{farm.name} (SIRET {farm.siret}) Gestionnaire principal" in page
    assert "Enregistrer les coordonnées bancaires et télécharger le RIB À faire" in page
    assert "Renseignez la catégorie de bénéficiaire et le numéro PACAGE de la structure" in page
    html = client.get(reverse("home")).text
    assert f'href="{reverse("structures:bank_account_create")}?structure={farm.pk}"' in html
    assert f'href="{reverse("structures:structure_update", args=[farm.pk])}"' in html
    assert "Il vous reste 2 étapes à faire." in page


def test_a_main_manager_whose_steps_are_done_has_nothing_left(client, manager, complete_farm):
    file_every_open_year(complete_farm)

    page = home(client, manager)

    assert "La catégorie de bénéficiaire et le numéro PACAGE (026123456) de la structure sont renseignés." in page
    assert "Les coordonnées bancaires par défaut et une copie du RIB sont enregistrées" in page
    assert "Toutes vos étapes sont faites." in page and "À faire" not in page


def test_a_manager_reads_the_requests_waiting_on_their_structure(client, second_manager, farm):
    ApprovalRequestFactory(structure=farm)

    page = home(client, second_manager)

    assert f"{farm.name} (SIRET {farm.siret}) Gestionnaire " in page
    assert "1 demande de rattachement attend votre décision." in page
    assert "Approbations" in page


def test_a_manager_of_two_structures_reads_the_steps_of_each(client, manager, farm):
    other = MembershipFactory(user=manager, role=Membership.Role.MANAGER).structure

    page = home(client, manager)

    assert farm.name in page and other.name in page
    assert "Il vous reste 4 étapes à faire." in page


def test_an_attached_user_reads_what_the_managers_did_and_who(client, attached, complete_farm):
    file_every_open_year(complete_farm)

    page = home(client, attached)

    today = timezone.localdate()
    assert f"{complete_farm.name} (SIRET {complete_farm.siret}) Utilisateur" in page
    assert f"Coordonnées bancaires et RIB : enregistrés par Marie Gestion le {today.day}" in page
    assert f"Catégorie de bénéficiaire et numéro PACAGE : renseignés par Marie Gestion le {today.day}" in page
    assert "Consulter la structure" in page
    assert "Toutes vos étapes sont faites." in page
    assert "Créer une coordonnée bancaire" not in page and "Approbations" not in page


def test_an_attached_user_reads_who_set_the_pacage_last(client, attached, farm, second_manager, sign_in):
    """The category and PACAGE are credited to the manager who gave them their present values."""
    sign_in(second_manager).post(reverse("structures:structure_update", args=[farm.pk]), STRUCTURE_FORM)

    page = home(client, attached)

    assert "Catégorie de bénéficiaire et numéro PACAGE : renseignés par Gaston Durand le" in page


def test_an_attached_user_is_not_asked_for_what_managers_do(client, attached, farm):
    page = home(client, attached)

    assert "Coordonnées bancaires et RIB : pas encore enregistrés ; un gestionnaire de la structure s'en charge" in page
    assert "Catégorie de bénéficiaire et numéro PACAGE : pas encore renseignés" in page
    assert "Il vous reste" not in page and "Toutes vos étapes sont faites." in page


def test_a_pending_requester_reads_the_request_its_date_and_who_decides(client, db):
    requester = UserFactory()
    request = ApprovalRequestFactory(requester=requester)

    page = home(client, requester)

    assert (
        f"Demande de rattachement à {request.structure.name_and_siret}, déposée le {timezone.localdate().day}" in page
    )
    assert "Les gestionnaires de la structure décident de votre demande" in page
    assert "Mes rattachements" in page
    assert "Rien ne vous reste à faire pour l'instant" in page
    assert "Enregistrer les coordonnées bancaires" not in page, "the farm's steps are its managers'"
    assert "Rejoindre une structure" not in page


def test_a_refused_user_reads_the_reason_and_may_ask_again(client, db):
    requester = UserFactory()
    request = ApprovalRequestFactory(requester=requester)
    request.refuse(UserFactory(), "Nous ne connaissons pas cette personne.")
    request.save()
    client.force_login(requester)

    response = client.get(reverse("home"))

    page = text(response)
    assert "refusée le" in page and "Motif : Nous ne connaissons pas cette personne." in page
    assert "Il vous reste 1 étape à faire." in page
    assert "Demander un rattachement" in page
    assert "et votre structure" not in page and "sur 5" not in page
    assert f'href="{reverse("approvals:request_attachment")}"' in response.text


def test_a_refusal_followed_by_an_attachment_is_no_longer_shown(client, attached, farm):
    request = ApprovalRequestFactory(requester=attached, structure=farm)
    request.refuse(UserFactory(), "Pièce manquante.")
    request.save()

    assert "Pièce manquante" not in home(client, attached)


def test_a_withdrawn_request_says_nothing(client, db):
    requester = UserFactory()
    request = ApprovalRequestFactory(requester=requester)
    request.withdraw()
    request.save()

    page = home(client, requester)

    assert "Demande de rattachement à" not in page
    assert "Rejoindre une structure" in page


def test_a_user_without_structure_may_join_one_or_create_one(client, outsider):
    client.force_login(outsider)

    response = client.get(reverse("home"))

    page = text(response)
    assert "Rejoindre une structure À faire Vous n'êtes rattaché(e) à aucune structure." in page
    assert "Il vous reste 1 étape à faire." in page
    assert f'href="{reverse("approvals:request_attachment")}">Demander un rattachement' in response.text
    assert f'href="{reverse("structures:structure_manage")}?request_type=create">Créer une structure' in response.text


@pytest.fixture
def centre(db):
    return StructureFactory(name="CER Drôme", is_agricultural_centre=True)


@pytest.fixture
def accountant(centre, private_media):
    """A management centre's accountant, attached as a simple user to the centre and to three client farms."""
    user = UserFactory(first_name="Claire", last_name="Compta")
    MembershipFactory(user=user, structure=centre, role=Membership.Role.USER)
    complete = StructureFactory(name="EARL Aubépine", pacage="026111111", beneficiary_category="farming_company")
    BankAccountFactory(structure=complete)
    incomplete = [StructureFactory(name="GAEC Bruyère", pacage="026222222"), StructureFactory(name="SCEA Cade")]
    for farm in [complete, *incomplete]:
        MembershipFactory(user=user, structure=farm, role=Membership.Role.USER)
    return user


def test_a_centre_user_reads_the_portfolio_of_client_farms(client, accountant):
    page = home(client, accountant)

    assert "Le portefeuille de vos clients" in page and "Exploitations clientes (3)" in page
    assert "EARL Aubépine" in page and "026111111" in page
    assert "Complète" in page
    assert (
        "GAEC Bruyère" in page
        and "026222222 Utilisateur Incomplète Il manque : coordonnées bancaires par défaut avec RIB, catégorie de "
        "bénéficiaire."
        in page
    )
    assert (
        "SCEA Cade" in page
        and "Non renseigné Utilisateur Incomplète Il manque : coordonnées bancaires par défaut avec RIB, catégorie "
        "de bénéficiaire, numéro PACAGE."
        in page
    )
    assert "CER Drôme (SIRET" in page and "sans objet : un centre de gestion agricole" in page
    assert page.count("Consulter la structure") == 1, "client farms are in the portfolio, not one block each"


def test_a_long_portfolio_is_paged(client, accountant):
    farms = StructureFactory.create_batch(30, pacage="026333333")
    Membership.objects.bulk_create(Membership(user=accountant, structure=farm) for farm in farms)

    first = home(client, accountant)
    second = text(client.get(reverse("home"), {"page": 2}))

    assert "Exploitations clientes (33)" in first and "1 / 2" in first and "Page suivante" in first
    assert "2 / 2" in second and "Page précédente" in second
    for wrong in ["abc", "999", "-1"]:
        response = client.get(reverse("home"), {"page": wrong})
        assert response.status_code == 200 and "Exploitations clientes (33)" in text(response), wrong


def test_a_centre_portfolio_shows_only_the_farms_the_reader_is_attached_to(client, accountant, centre):
    colleague = MembershipFactory(structure=centre).user
    MembershipFactory(user=colleague, structure=StructureFactory(name="GAEC Secret"))

    page = home(client, accountant)

    assert "Exploitations clientes (3)" in page and "GAEC Secret" not in page


def test_a_centre_manager_is_not_asked_for_its_own_rib_nor_pacage(client, centre):
    manager = MembershipFactory(structure=centre, role=Membership.Role.MAIN_MANAGER).user

    page = home(client, manager)

    assert "Enregistrer les coordonnées bancaires et télécharger le RIB Sans objet" in page
    assert "n'enregistre pas de coordonnées bancaires propres" in page
    assert "déclarée centre de gestion agricole : elle n'a ni catégorie de bénéficiaire ni numéro PACAGE" in page
    assert "PACAGE ( )" not in page and "sont renseignés" not in page
    assert "Toutes vos étapes sont faites." in page
    assert "Vous n'êtes rattaché(e) à aucune exploitation cliente." in page


def test_approbations_is_in_the_menu_of_managers_only(client, manager, attached, outsider):
    def menu_has_approvals(user):
        client.force_login(user)
        return f'href="{reverse("approvals:approval_list")}"' in client.get(reverse("organisation")).text

    assert menu_has_approvals(manager)
    assert not menu_has_approvals(attached)
    assert not menu_has_approvals(outsider)


def test_the_menu_reads_whether_the_user_manages_and_the_badge_in_one_query(client, manager, farm):
    ApprovalRequest.objects.bulk_create(ApprovalRequest(requester=u, structure=farm) for u in activated_accounts(2))
    client.force_login(manager)

    with CaptureQueriesContext(connection) as captured:
        html = client.get(reverse("organisation")).text

    assert "data-pending-approvals>2<" in html
    assert len([q for q in captured.captured_queries if "structures_membership" in q["sql"]]) == 1


def _queries(client, user, **params) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("home"), params).status_code == 200
    return len(captured.captured_queries)


def _structures_of(user, count: int, role: str, **fields) -> None:
    structures = Structure.objects.bulk_create(StructureFactory.build_batch(count, **fields))
    Membership.objects.bulk_create(Membership(user=user, structure=s, role=role) for s in structures)
    for structure in structures:
        ApprovalRequestFactory(structure=structure)


@pytest.mark.parametrize("role", [Membership.Role.MANAGER, Membership.Role.USER])
def test_the_home_reads_as_many_queries_for_30_structures_as_for_one(client, db, role):
    one, thirty = UserFactory(), UserFactory()
    _structures_of(one, 1, role)
    _structures_of(thirty, 30, role)

    assert _queries(client, thirty) == _queries(client, one)


def test_a_centre_home_reads_as_many_queries_for_300_farms_as_for_one(client, centre):
    one, many = UserFactory(), UserFactory()
    for user, count in [(one, 1), (many, 300)]:
        MembershipFactory(user=user, structure=centre)
        _structures_of(user, count, Membership.Role.USER)

    assert _queries(client, many) == _queries(client, one)
    assert _queries(client, many, page=12) == _queries(client, one)
