"""« Remboursement de taxes » in a real browser: a farm files its 2023 request, an accountant files for two clients.

The 2023 campaign closes on 31 December 2026: the clock is set to 7 December 2026 (the server runs in this
process, so it reads the same clock).
"""

import re

import pytest
import time_machine
from playwright.sync_api import expect

from refunds.models import RefundRequest
from structures.models import Membership
from tests.e2e.pages import LoginPage, MySpacePage, assert_accessible, labelled
from tests.factories import (
    DURING_THE_2023_CAMPAIGN,
    PASSWORD,
    BankAccountFactory,
    FarmFactory,
    MembershipFactory,
    StructureFactory,
    UserFactory,
    refund_reference_data,
)
from tests.structures.conftest import PDF

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _campaign_2023_open():
    with time_machine.travel(DURING_THE_2023_CAMPAIGN, tick=True):
        yield


@pytest.fixture
def farmer(db, private_media):
    refund_reference_data()
    farm = FarmFactory(siret="73282932000074", name="EARL Martin", pacage="026123456", postal_code="26400")
    BankAccountFactory(structure=farm, label="Compte courant", iban="FR7630006000011234567890189")
    user = UserFactory(email="jeanne.martin@exemple.fr", first_name="Jeanne", last_name="Martin")
    MembershipFactory(user=user, structure=farm, role=Membership.Role.MAIN_MANAGER)
    return user


def invoice(name="facture-mars.pdf"):
    return {"name": name, "mimeType": "application/pdf", "buffer": PDF}


def test_a_farmer_files_her_2023_request_from_the_home_page_and_downloads_its_receipt(
    page, site, farmer, mailoutbox, screenshots
):
    LoginPage(page).sign_in(site.url, farmer.email, PASSWORD)
    MySpacePage(page).wait("Jeanne")

    # Accueil → « Facturation » → « Remboursement de taxes » → « Saisir demande de remboursement TIC ».
    page.get_by_role("main").get_by_role("link", name="Facturation").click()
    page.get_by_role("main").get_by_role("link", name="Saisir demande de remboursement TIC").click()
    expect(labelled(page, "Structure")).to_have_value(str(farmer.memberships.get().structure_id))
    expect(labelled(page, "Année de la demande")).to_have_value("2023")
    page.get_by_role("button", name="Saisir la demande").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("2023")

    # « Ajouter ligne de demande »: the rate and amount show as she types.
    page.get_by_role("link", name="Ajouter ligne de demande").click()
    labelled(page, "Numéro de facture").fill("FA-2023-0042")
    labelled(page, "Date de la facture").fill("2023-03-15")
    labelled(page, "Fournisseur").fill("Coopérative du Val de Drôme")
    labelled(page, "Produit").select_option(label="Gazole non routier (quantité en litres, taux 2023 : 14,96 €/hl)")
    labelled(page, "Quantité").fill("1 000")
    expect(page.locator("[data-line-amount-text]")).to_have_text("Taux : 14,96 €/hl – Montant : 149,60 €")
    labelled(page, "Facture").set_input_files(invoice())
    page.get_by_role("button", name="Enregistrer", exact=True).click()

    lines = page.get_by_role("table", name=re.compile("^Lignes de la demande"))
    expect(lines).to_contain_text("FA-2023-0042")
    expect(lines).to_contain_text("1 000 litres")
    expect(lines.locator("tfoot")).to_contain_text("149,60 €")

    # The header: the default account is chosen; she ticks the statement and saves.
    page.get_by_label("Je certifie que l'entreprise n'est pas en difficulté").check(force=True)
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(page.get_by_text("La demande est enregistrée.")).to_be_visible()
    assert_accessible(page)
    page.screenshot(path=screenshots / "refund-request.png", full_page=True)

    # « Envoyer »: the confirmation with the total and the masked IBAN, then « Déposée ».
    page.get_by_role("button", name="Envoyer", exact=True).click()
    main = page.get_by_role("main")
    expect(main).to_contain_text("149,60 €")
    expect(main).to_contain_text("FR76")
    expect(main).not_to_contain_text("FR7630006000011234567890189")
    page.get_by_role("button", name="Envoyer la demande").click()

    expect(page.get_by_role("main")).to_contain_text("Déposée")
    request = RefundRequest.objects.get()
    assert re.fullmatch(r"TIC-2023-\d{6}", request.number)
    expect(page.get_by_role("heading", level=1)).to_contain_text(request.number)

    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger l'accusé de dépôt (PDF)").click()
    assert download.value.suggested_filename == f"accuse-de-depot-{request.number}.pdf"
    with open(download.value.path(), "rb") as receipt:
        assert receipt.read(5) == b"%PDF-"

    [confirmation] = [mail for mail in mailoutbox if request.number in mail.subject]
    assert confirmation.to == [farmer.email]
    assert "149,60" in confirmation.body


def test_an_accountant_files_for_two_client_farms_from_the_portfolio_with_a_csv(
    page, site, db, private_media, tmp_path
):
    refund_reference_data()
    centre = StructureFactory(name="Centre de gestion du Diois", is_agricultural_centre=True)
    accountant = UserFactory(email="claire.compta@cer-diois.fr", first_name="Claire", last_name="Compta")
    MembershipFactory(user=accountant, structure=centre, role=Membership.Role.MAIN_MANAGER)
    farms = []
    for name, pacage in [("GAEC des Aulnes", "026000111"), ("EARL du Plateau", "026000222")]:
        farm = FarmFactory(name=name, pacage=pacage, postal_code="26150")
        BankAccountFactory(structure=farm, label="Compte de l'exploitation")
        manager = UserFactory(email=f"gerant@{pacage}.fr", first_name="Gérant")
        MembershipFactory(user=manager, structure=farm, role=Membership.Role.MAIN_MANAGER)
        MembershipFactory(user=accountant, structure=farm)
        farms.append(farm)
    csv = tmp_path / "lignes.csv"
    csv.write_text(
        "numero_facture;date_facture;fournisseur;produit;quantite\n"
        "A-101;12/02/2023;Coopérative du Diois;gnr;2 500,00\n"
        "A-102;20/09/2023;Butagaz;gpl;1 200,5\n",
        encoding="cp1252",
    )

    LoginPage(page).sign_in(site.url, accountant.email, PASSWORD)
    page.wait_for_url(f"{site.url}/")
    for farm in farms:
        page.goto(f"{site.url}/")
        portfolio_row = page.get_by_role("row").filter(has_text=farm.name)
        portfolio_row.get_by_role("link", name=re.compile("^Saisir")).click()
        expect(labelled(page, "Structure")).to_have_value(str(farm.pk))
        page.get_by_role("button", name="Saisir la demande").click()

        page.get_by_role("link", name="Importer des lignes (CSV)").click()
        labelled(page, "Fichier CSV").set_input_files(str(csv))
        page.get_by_role("button", name="Importer les lignes").click()
        expect(page.get_by_role("main")).to_contain_text("2 lignes importées")

        for number in ["A-101", "A-102"]:
            page.get_by_role("link", name=f"Joindre la facture {number}").click()
            labelled(page, "Facture").set_input_files(invoice(f"{number}.pdf"))
            page.get_by_role("button", name=re.compile("^(Joindre|Enregistrer)")).click()
        # GPL is de minimis aid: the total received over three years is asked (none here).
        labelled(page, "Montant des aides de minimis").fill("0")
        # « Envoyer » saves the header on its way: no « Enregistrer » needed first.
        page.get_by_label("Je certifie que l'entreprise n'est pas en difficulté").check(force=True)
        page.get_by_role("button", name="Envoyer", exact=True).click()
        page.get_by_role("button", name="Envoyer la demande").click()
        expect(page.get_by_role("main")).to_contain_text("Déposée")

    sent = RefundRequest.objects.filter(status=RefundRequest.Status.FILED).order_by("structure__name")
    assert [(r.structure.name, r.filed_by, r.filer_centre) for r in sent] == [
        ("EARL du Plateau", accountant, centre),
        ("GAEC des Aulnes", accountant, centre),
    ]
    # 25 hl of GNR at 14,96 €/hl (374,00 €) and 12,005 × 100 kg of GPL at 5,72 €/100 kg (68,67 €).
    assert {str(r.total_asked) for r in sent} == {"442.67"}

    page.goto(f"{site.url}/")
    for farm in farms:
        expect(page.get_by_role("row").filter(has_text=farm.name)).to_contain_text("Déposée")
