"""REFUNDS §2 and §3 on the portal's side: the « Facturation » domain, step 6 of the home's checklist, and a
management centre's portfolio with the request of each open year, on the page and as a CSV file."""

import csv
import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from structures.models import Membership, Structure
from tests.factories import (
    BankAccountFactory,
    FarmFactory,
    MembershipFactory,
    RefundRequestFactory,
    StructureFactory,
    UserFactory,
    make_instructor,
    make_sent_request,
    refund_reference_data,
)
from tests.portal.test_home import text

PARIS = ZoneInfo("Europe/Paris")
# The shipped campaigns: on this day only 2023's is open (1 January 2024 – 31 December 2026).
ONLY_2023_OPEN = datetime(2026, 12, 7, 10, tzinfo=PARIS)
# 2022's (until 31 December 2025) and 2023's.
TWO_YEARS_OPEN = datetime(2025, 6, 2, 10, tzinfo=PARIS)
NONE_OPEN = datetime(2031, 6, 2, 10, tzinfo=PARIS)

STEP = "Déposer votre demande de remboursement"


@pytest.fixture(autouse=True)
def _reference_data(db, private_media):
    """The shipped products, rates and campaigns; RIBs in a throw-away folder."""
    refund_reference_data()


@pytest.fixture
def only_2023_open(time_machine):
    time_machine.move_to(ONLY_2023_OPEN)


@pytest.fixture
def ready_farm(db):
    """A farm ready to file: category, PACAGE, and a default bank account with its RIB."""
    farm = FarmFactory(name="EARL des Peupliers", pacage="035000123")
    BankAccountFactory(structure=farm, label="Compte courant")
    return farm


@pytest.fixture
def farmer(ready_farm):
    return MembershipFactory(structure=ready_farm, role=Membership.Role.MAIN_MANAGER, user__first_name="Marie").user


@pytest.fixture
def farm_user(ready_farm):
    return MembershipFactory(structure=ready_farm, role=Membership.Role.USER, user__first_name="Ulysse").user


@pytest.fixture
def centre(db):
    return StructureFactory(name="Centre de gestion du Val", is_agricultural_centre=True)


@pytest.fixture
def accountant(ready_farm, centre):
    """A management centre's user, attached to the ready farm and to a client farm that lacks its bank details."""
    user = UserFactory(first_name="Claire", last_name="Compta")
    MembershipFactory(user=user, structure=centre, role=Membership.Role.USER)
    MembershipFactory(user=user, structure=ready_farm, role=Membership.Role.USER)
    MembershipFactory(user=user, structure=FarmFactory(name="GAEC Bruyère", pacage="035000456"))
    return user


def page_of(client, user, url: str, **params) -> tuple[str, str]:
    client.force_login(user)
    response = client.get(url, params)
    assert response.status_code == 200
    return text(response), response.text


def start_url(farm: Structure, year: int) -> str:
    return f"{reverse('refunds:request_start')}?structure={farm.pk}&amp;year={year}"


# « Facturation »


def test_a_farmer_sees_facturation_then_its_two_entries(client, farmer, only_2023_open):
    home, home_html = page_of(client, farmer, reverse("home"))

    assert "Facturation Factures, remboursement de taxes" in home
    assert f'<a href="{reverse("portal:billing")}">Facturation</a>' in home_html

    page, html = page_of(client, farmer, reverse("portal:billing"))

    assert "Accueil Facturation" in page and "<h1>Facturation</h1>" in html
    assert f'<a href="{reverse("refunds:index")}">Remboursement de taxes</a>' in html
    assert f'href="{reverse("refunds:request_start")}">Saisir demande de remboursement TIC</a>' in html
    assert f'href="{reverse("refunds:request_list")}">Mes demandes de remboursement</a>' in html
    assert f'href="{reverse("portal:billing")}" aria-current="page">Facturation</a>' in html, "the menu's entry"


def test_facturation_asks_visitors_to_sign_in(client, db):
    response = client.get(reverse("portal:billing"))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next=/facturation/"


# Step 6 of the checklist


def test_a_ready_farm_has_step_6_to_do_with_its_link(client, farmer, ready_farm, only_2023_open):
    page, html = page_of(client, farmer, reverse("home"))

    assert (
        f"{STEP} À faire Aucune demande n'est déposée pour l'année 2023 : saisissez-la et envoyez-la avant le "
        "31 décembre 2026." in page
    )
    assert f'href="{start_url(ready_farm, 2023)}">Saisir demande de remboursement TIC</a>' in html
    assert "Il vous reste 1 étape à faire." in page
    assert '<li class="checklist__step" value="6">' in html


def test_a_begun_draft_is_where_step_6_leads(client, farmer, ready_farm, only_2023_open):
    draft = RefundRequestFactory(structure=ready_farm, year=2023, created_by=farmer)

    page, html = page_of(client, farmer, reverse("home"))

    assert "La demande 2023 est en brouillon : complétez-la et envoyez-la avant le 31 décembre 2026." in page
    assert f'href="{reverse("refunds:request_detail", args=[draft.pk])}">Reprendre le brouillon 2023</a>' in html


def test_step_6_is_done_once_the_request_is_sent(client, farmer, ready_farm, only_2023_open):
    RefundRequestFactory(structure=ready_farm, year=2023, status="filed", number="TIC-2023-000001")

    page, _ = page_of(client, farmer, reverse("home"))

    assert f"{STEP} Fait Une demande est déposée pour chaque année dont le dépôt est ouvert" in page
    assert "Toutes vos étapes sont faites." in page


def test_a_complement_asked_is_step_6_until_answered(client, farmer, ready_farm, only_2023_open):
    RefundRequestFactory(structure=ready_farm, year=2023, status="filed", number="TIC-2023-000001")
    asked = RefundRequestFactory(
        structure=ready_farm, year=2022, status="information_requested", number="TIC-2022-000001"
    )

    page, html = page_of(client, farmer, reverse("home"))

    assert f"{STEP} À faire La cellule remboursement demande un complément sur la demande TIC-2022-000001" in page
    assert f'href="{reverse("refunds:request_detail", args=[asked.pk])}">Répondre au complément</a>' in html
    assert "Il vous reste 1 étape à faire." in page


def test_with_two_open_years_step_6_waits_for_both(client, farmer, ready_farm, time_machine):
    time_machine.move_to(TWO_YEARS_OPEN)
    RefundRequestFactory(structure=ready_farm, year=2022, status="filed", number="TIC-2022-000001")

    page, html = page_of(client, farmer, reverse("home"))

    assert "Aucune demande n'est déposée pour l'année 2023 : saisissez-la et envoyez-la avant le 31 décembre" in page
    assert start_url(ready_farm, 2023) in html


def test_step_6_has_no_object_while_no_campaign_is_open(client, farmer, time_machine):
    time_machine.move_to(NONE_OPEN)

    page, _ = page_of(client, farmer, reverse("home"))

    assert f"{STEP} Sans objet Aucune campagne de dépôt des demandes n'est ouverte en ce moment." in page
    assert "Toutes vos étapes sont faites." in page


def test_a_simple_user_may_file_so_step_6_is_theirs_too(client, farm_user, ready_farm, only_2023_open):
    page, html = page_of(client, farm_user, reverse("home"))

    assert f"{STEP} À faire" in page and "Il vous reste 1 étape à faire." in page
    assert start_url(ready_farm, 2023) in html
    assert 'class="checklist checklist--from-6" start="6"' in html


def test_a_farm_whose_registration_lacks_something_has_no_step_6(client, only_2023_open):
    for farm in [FarmFactory(), FarmFactory(pacage="")]:  # no bank details; bank details but no PACAGE
        if farm.pacage == "":
            BankAccountFactory(structure=farm)
        manager = MembershipFactory(structure=farm, role=Membership.Role.MAIN_MANAGER).user

        page, _ = page_of(client, manager, reverse("home"))

        assert STEP not in page


def test_a_centre_has_no_step_6_and_its_client_farms_are_in_the_portfolio(client, centre, accountant, only_2023_open):
    centre_manager = MembershipFactory(structure=centre, role=Membership.Role.MAIN_MANAGER).user

    assert STEP not in page_of(client, centre_manager, reverse("home"))[0]
    assert STEP not in page_of(client, accountant, reverse("home"))[0]


def test_the_home_reads_as_many_queries_for_30_ready_farms_as_for_one(client, only_2023_open):
    one, thirty = UserFactory(), UserFactory()
    for user, count in [(one, 1), (thirty, 30)]:
        for n in range(count):
            farm = FarmFactory()
            BankAccountFactory(structure=farm)
            MembershipFactory(user=user, structure=farm, role=Membership.Role.MANAGER)
            if n % 2:
                RefundRequestFactory(structure=farm, year=2023, status="filed", number=f"TIC-2023-{farm.pk:06d}")
            elif n % 3:
                RefundRequestFactory(structure=farm, year=2023)

    assert queries(client, one, reverse("home")) == queries(client, thirty, reverse("home"))
    assert "Il vous reste 15 étapes à faire." in page_of(client, thirty, reverse("home"))[0]


def queries(client, user, url: str, **params) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
        assert response.status_code == 200
        if response.streaming:
            b"".join(response.streaming_content)
    return len(captured.captured_queries)


# The portfolio


def test_the_portfolio_shows_each_client_farms_request_of_each_open_year(
    client, accountant, ready_farm, only_2023_open
):
    sent = RefundRequestFactory(structure=ready_farm, year=2023, status="filed", number="TIC-2023-000001")
    other = Structure.objects.get(name="GAEC Bruyère")

    page, html = page_of(client, accountant, reverse("home"))

    assert "Exploitations clientes (2)" in page and "Demande 2023" in page and "Demande 2022" not in page
    assert (
        "EARL des Peupliers (SIRET " in page
        and "035000123 Utilisateur Complète TIC-2023-000001 : demande 2023 de EARL des Peupliers Déposée" in page
    )
    assert f'<a class="fr-link" href="{reverse("refunds:request_detail", args=[sent.pk])}">TIC-2023-000001' in html
    assert (
        "035000456 Utilisateur Incomplète Il manque : coordonnées bancaires par défaut avec RIB. "
        "Saisir la demande 2023 de GAEC Bruyère" in page
    )
    assert f'href="{start_url(other, 2023)}">Saisir' in html
    assert f'href="{reverse("portal:portfolio_export")}"' in html


def test_the_portfolio_has_a_column_per_open_year(client, accountant, ready_farm, time_machine):
    time_machine.move_to(TWO_YEARS_OPEN)
    RefundRequestFactory(structure=ready_farm, year=2022, status="paid", number="TIC-2022-000001")
    RefundRequestFactory(structure=ready_farm, year=2023)

    page, _ = page_of(client, accountant, reverse("home"))

    assert "Demande 2022 Demande 2023" in page
    assert (
        "TIC-2022-000001 : demande 2022 de EARL des Peupliers Payée "
        "Reprendre la demande 2023 de EARL des Peupliers Brouillon" in page
    )


def test_a_request_s_number_is_the_link_and_its_status_a_badge_beside_it(client, accountant, ready_farm, time_machine):
    time_machine.move_to(TWO_YEARS_OPEN)
    paid = RefundRequestFactory(structure=ready_farm, year=2022, status="paid", number="TIC-2022-000001")
    draft = RefundRequestFactory(structure=ready_farm, year=2023)

    _, html = page_of(client, accountant, reverse("home"))

    assert re.search(
        f'<a class="fr-link" href="{paid.get_absolute_url()}">TIC-2022-000001'
        '<span class="fr-sr-only"> : demande 2022 de EARL des Peupliers</span></a>'
        r'\s*<span class="fr-badge fr-badge--sm fr-badge--no-icon fr-badge--success">Payée</span>',
        html,
    )
    assert re.search(
        f'<a class="fr-link" href="{draft.get_absolute_url()}">Reprendre'
        '<span class="fr-sr-only"> la demande 2023 de EARL des Peupliers</span></a>'
        r'\s*<span class="fr-badge fr-badge--sm fr-badge--no-icon">Brouillon</span>',
        html,
    )
    assert not re.search(r'<a [^>]*>\s*<span class="fr-badge', html), "a badge is never a link"


def test_a_centre_home_reads_as_many_queries_for_60_farms_with_requests_as_for_one(client, centre, time_machine):
    time_machine.move_to(TWO_YEARS_OPEN)
    one, many = UserFactory(), UserFactory()
    for user, count in [(one, 1), (many, 60)]:
        MembershipFactory(user=user, structure=centre)
        for _ in range(count):
            farm = FarmFactory()
            MembershipFactory(user=user, structure=farm)
            RefundRequestFactory(structure=farm, year=2022, status="filed", number=f"TIC-2022-{farm.pk:06d}")
            RefundRequestFactory(structure=farm, year=2023)

    assert queries(client, many, reverse("home")) == queries(client, one, reverse("home"))
    assert queries(client, many, reverse("home"), page=3) == queries(client, one, reverse("home"))
    export = reverse("portal:portfolio_export")
    assert queries(client, many, export) == queries(client, one, export)


# The portfolio's export


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


def test_the_export_lists_every_client_farm_with_its_requests(client, accountant, ready_farm, only_2023_open):
    RefundRequestFactory(
        structure=ready_farm, year=2023, status="filed", number="TIC-2023-000001", total_asked="1234.50"
    )
    client.force_login(accountant)

    response = client.get(reverse("portal:portfolio_export"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="portefeuille.csv"'
    other = Structure.objects.get(name="GAEC Bruyère")
    assert read_csv(response) == [
        [
            "SIRET",
            "Exploitation",
            "Numéro PACAGE",
            "Catégorie de bénéficiaire",
            "Inscription complète",
            "Demande 2023 : numéro",
            "Demande 2023 : statut",
            "Demande 2023 : montant demandé",
        ],
        [
            ready_farm.siret,
            "EARL des Peupliers",
            "035000123",
            "Exploitant agricole à titre individuel",
            "oui",
            "TIC-2023-000001",
            "Déposée",
            "1234,50",
        ],
        [other.siret, "GAEC Bruyère", "035000456", "Exploitant agricole à titre individuel", "non", "", "", ""],
    ]


def test_every_cell_of_the_export_is_quoted_so_siret_and_pacage_may_be_read_as_text(
    client, accountant, ready_farm, only_2023_open
):
    Structure.objects.filter(pk=ready_farm.pk).update(siret="00000000000018", pacage="001000123")
    client.force_login(accountant)

    body = b"".join(client.get(reverse("portal:portfolio_export")).streaming_content).decode("utf-8-sig")

    lines = body.splitlines()
    assert lines[0].startswith('"SIRET";"Exploitation";"Numéro PACAGE";')
    assert lines[1].startswith('"00000000000018";"EARL des Peupliers";"001000123";')
    assert all(cell.startswith('"') and cell.endswith('"') for line in lines for cell in line.split(";"))


def test_quoted_cells_stay_formula_safe(client, accountant, ready_farm, only_2023_open):
    ready_farm.name = '=HYPERLINK("http://x")'
    ready_farm.save()
    Structure.objects.filter(name="GAEC Bruyère").update(name="@SUM(A1)")
    client.force_login(accountant)

    body = b"".join(client.get(reverse("portal:portfolio_export")).streaming_content).decode("utf-8-sig")

    assert ';"\'=HYPERLINK(""http://x"")";' in body and ';"\'@SUM(A1)";' in body
    assert ';"=' not in body and not body.startswith('"=')


def test_the_page_says_how_to_keep_the_leading_zeros_next_to_the_export(client, accountant, only_2023_open):
    page, html = page_of(client, accountant, reverse("home"))

    hint = "Dans un tableur, importez les colonnes SIRET et PACAGE en tant que texte pour garder leurs zéros initiaux."
    assert f"Exporter le portefeuille (CSV) {hint}" in page
    assert 'aria-describedby="portefeuille-export-aide"' in html and f'id="portefeuille-export-aide">{hint}' in html


def test_the_export_is_not_paged(client, accountant, only_2023_open):
    farms = Structure.objects.bulk_create(FarmFactory.build_batch(40))
    Membership.objects.bulk_create(Membership(user=accountant, structure=farm) for farm in farms)
    client.force_login(accountant)

    rows = read_csv(client.get(reverse("portal:portfolio_export")))

    assert len(rows) == 1 + 42


def test_a_farm_named_as_a_formula_is_text_in_the_export(client, accountant, ready_farm, only_2023_open):
    ready_farm.name = '=HYPERLINK("http://x")'
    ready_farm.save()
    Structure.objects.filter(name="GAEC Bruyère").update(name="@SUM(A1)", pacage="")
    client.force_login(accountant)

    rows = read_csv(client.get(reverse("portal:portfolio_export")))

    names = [row[1] for row in rows[1:]]
    assert names == ['\'=HYPERLINK("http://x")', "'@SUM(A1)"]


def test_only_a_centre_user_has_an_export(client, farmer, farm_user, only_2023_open):
    for user in [farmer, farm_user, UserFactory(), UserFactory(is_staff=True, is_superuser=True)]:
        client.force_login(user)
        assert client.get(reverse("portal:portfolio_export")).status_code == 404

    client.logout()
    response = client.get(reverse("portal:portfolio_export"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


# An instructor's home


def test_an_instructor_s_home_leads_to_the_instruction_with_what_waits(client, db):
    instructor = make_instructor("26", first_name="Irène")
    farm = FarmFactory(postal_code="26400")
    make_sent_request(farm, year=2023)
    make_sent_request(farm, year=2022, status="in_review", assigned_to=instructor)
    make_sent_request(FarmFactory(postal_code="35000"), year=2023)  # another département's

    page, html = page_of(client, instructor, reverse("home"))

    assert f'<a href="{reverse("instruction:queue")}">Instruction</a>' in html
    assert "1 demande à prendre en charge dans vos départements, 1 que vous instruisez" in page


def test_a_farmer_s_home_has_no_instruction(client, farmer, ready_farm, only_2023_open):
    _, html = page_of(client, farmer, reverse("home"))

    assert reverse("instruction:queue") not in html
