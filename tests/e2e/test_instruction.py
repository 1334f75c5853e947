"""The tax office instructs and pays a farm's request, in a real browser; the farm follows each step.

EARL Martin (Crest, in the Drôme) sends its 2023 request; Irène, who instructs the Drôme, takes it, asks for a
complement, which Jeanne answers by correcting a line; Irène accepts it with one line reduced, puts it in
payment, downloads the SEPA file and marks the batch paid. Jeanne reads each step on her request's page and in
her mail. The clock is set during the 2023 campaign, as in tests/e2e/test_refunds.py.
"""

import re
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.base import ContentFile
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from chorus.uploads import CleanFile
from instruction import sepa
from refunds import workflows
from refunds.models import Product, RefundRequest
from structures.models import Membership
from tests.e2e.pages import LoginPage, assert_accessible, labelled
from tests.factories import (
    PASSWORD,
    BankAccountFactory,
    FarmFactory,
    MembershipFactory,
    UserFactory,
    make_instructor,
    refund_reference_data,
)
from tests.structures.conftest import PDF

pytestmark = pytest.mark.browser

DURING_THE_2023_CAMPAIGN = datetime(2026, 12, 7, 9, 30, tzinfo=ZoneInfo("Europe/Paris"))
IBAN = "FR7630006000011234567890189"


@pytest.fixture(autouse=True)
def _campaign_2023_open():
    with time_machine.travel(DURING_THE_2023_CAMPAIGN, tick=True):
        yield


@pytest.fixture
def jeanne(db, private_media):
    """EARL Martin's main manager, with the 2023 draft she has filled in: two lines of GNR, their invoices."""
    refund_reference_data()
    farm = FarmFactory(siret="73282932000074", name="EARL Martin", pacage="026123456", postal_code="26400")
    account = BankAccountFactory(structure=farm, label="Compte courant", iban=IBAN)
    user = UserFactory(email="jeanne.martin@exemple.fr", first_name="Jeanne", last_name="Martin")
    MembershipFactory(user=user, structure=farm, role=Membership.Role.MAIN_MANAGER)
    draft, _ = workflows.start(farm, 2023, by=user)
    gnr = Product.objects.get(code="gnr")
    for number, litres in [("FA-2023-0042", "1000"), ("FA-2023-0107", "2500")]:
        line = workflows.LineData(number, date(2023, 3, 15), "Coopérative du Val de Drôme", gnr, Decimal(litres))
        invoice = workflows.Invoice(CleanFile(ContentFile(PDF), "application/pdf"), f"{number}.pdf")
        workflows.add_line(draft.pk, line, invoice=invoice, by=user)
    workflows.save_header(draft.pk, bank_account=account, not_in_difficulty=True, de_minimis_total=None, by=user)
    return user


@pytest.fixture
def irene(db):
    """The Drôme's instructor, with her authenticator application (/instruction/ asks for one)."""
    user = make_instructor("26", email="irene.durand@dgfip.finances.gouv.fr", first_name="Irène", last_name="Durand")
    TOTPDevice.objects.create(user=user, name="Téléphone", confirmed=True)
    return user


def test_a_request_is_instructed_answered_accepted_in_part_and_paid(page, site, jeanne, irene, mailoutbox, screenshots):
    def sign_in_as(user):
        page.context.clear_cookies()
        LoginPage(page).sign_in(site.url, user.email, PASSWORD)
        page.wait_for_url(f"{site.url}/")

    def mails_about(text: str) -> list:
        return [mail for mail in mailoutbox if text in mail.subject]

    main = page.get_by_role("main")

    # Jeanne sends her draft: « Déposée », first request of the farm (a flag for the instructor).
    sign_in_as(jeanne)
    page.goto(site.url + RefundRequest.objects.get().get_absolute_url())
    page.get_by_role("button", name="Envoyer", exact=True).click()
    page.get_by_role("button", name="Envoyer la demande").click()
    expect(main).to_contain_text("Déposée")
    request = RefundRequest.objects.get()
    assert request.departement == "26" and request.total_asked == Decimal("523.60")

    # Irène finds it in her queue, flagged, and takes it.
    sign_in_as(irene)
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Instruction").click()
    queue = page.get_by_role("table", name=re.compile("^Demandes"))
    row = queue.get_by_role("row").filter(has_text=request.number)
    expect(row).to_contain_text("EARL Martin")
    expect(row).to_contain_text("Première demande")
    assert_accessible(page)
    page.screenshot(path=screenshots / "instruction-queue.png", full_page=True)
    row.get_by_role("link", name=re.compile(request.number)).click()
    expect(main).to_contain_text("FR76 3000 6000 0112 3456 7890 189")  # the frozen account, in full
    page.get_by_role("button", name="Prendre en charge").click()
    expect(main).to_contain_text("En instruction")

    # « Demander un complément »: the second invoice is illegible.
    page.get_by_role("link", name="Demander un complément").click()
    labelled(page, "Message à la structure").fill("La facture FA-2023-0107 est illisible : joignez-la de nouveau.")
    page.get_by_role("button", name="Demander un complément").click()
    expect(main).to_contain_text("Complément demandé")
    [asked] = mails_about("Complément demandé")
    assert asked.to == [jeanne.email] and "FA-2023-0107 est illisible" in asked.body
    assert irene.email not in asked.body

    # Jeanne reads the message, corrects the quantity of the second line and answers.
    sign_in_as(jeanne)
    page.goto(site.url + request.get_absolute_url())
    expect(main).to_contain_text("FA-2023-0107 est illisible")
    expect(main).not_to_contain_text("Irène")
    page.get_by_role("link", name=re.compile("^Modifier.*FA-2023-0107")).click()
    labelled(page, "Quantité").fill("2 000")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    page.get_by_role("link", name="Répondre au complément").click()
    labelled(page, "Votre réponse").fill("Voici la facture lisible ; la quantité était de 2 000 litres.")
    page.get_by_role("button", name="Répondre au complément").click()
    expect(main).to_contain_text("Déposée")
    request.refresh_from_db()
    assert request.total_asked == Decimal("448.80")

    # Irène takes it again and accepts it, the first line reduced to 100 €.
    sign_in_as(irene)
    page.goto(f"{site.url}/instruction/demandes/{request.pk}/")
    expect(main).to_contain_text("2 000 litres")
    page.get_by_role("button", name="Prendre en charge").click()
    page.get_by_role("link", name="Accepter").click()
    labelled(page, "Montant accordé pour la facture « FA-2023-0042 »").fill("100")
    expect(page.locator("[data-granted-total-text]")).to_have_text(  # as she types
        "Montant accordé : 399,20\u00a0€ sur 448,80\u00a0€ demandés."
    )
    page.get_by_role("button", name="Accepter la demande").click()
    expect(main).to_contain_text("Indiquez le motif de la réduction")  # a reduction needs its reason
    assert_accessible(page)
    labelled(page, "Motif de la réduction pour la facture « FA-2023-0042 »").fill("Livraison en partie non agricole.")
    page.get_by_role("button", name="Accepter la demande").click()
    expect(main).to_contain_text("Partiellement acceptée")
    request.refresh_from_db()
    assert request.total_granted == Decimal("399.20")  # 100,00 + 299,20

    # « Paiements »: the request in one batch, its SEPA file downloaded, then the batch marked paid.
    page.get_by_role("link", name="Paiements").click()
    # The page's script puts « Tout sélectionner » in place of a hidden heading. Once it has run, the stylesheets
    # have loaded too (a script waits for them), so the boxes sit where the click lands: on a loaded machine the
    # click came first and missed.
    expect(page.locator("[data-select-all-fallback]")).to_have_count(0)
    page.get_by_label(re.compile(f"^Mettre en paiement la demande {request.number}")).check(force=True)
    page.get_by_role("button", name="Mettre en paiement").click()
    expect(main).to_contain_text("Mis en paiement")
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Télécharger le fichier de virements")).click()
    with open(download.value.path(), "rb") as file:
        paid = sepa.parse(file.read())
    assert [(t.iban, t.amount, t.remittance) for t in paid.transfers] == [(IBAN, Decimal("399.20"), request.number)]
    page.get_by_role("button", name="Marquer comme payée").click()
    expect(main).to_contain_text("Payé")

    # Jeanne follows it all: her list, the request's events and granted amounts, a mail for each step.
    sign_in_as(jeanne)
    page.goto(site.url + "/facturation/remboursement-de-taxes/demandes/")
    expect(page.get_by_role("row").filter(has_text=request.number)).to_contain_text("Payée")
    page.get_by_role("link", name=re.compile(request.number)).click()
    for step in ["Demande déposée", "Prise en charge", "Complément demandé", "Complément envoyé"]:
        expect(main).to_contain_text(step)
    expect(main).to_contain_text("Livraison en partie non agricole.")
    expect(main).to_contain_text("399,20")
    expect(main).to_contain_text("Paiement effectué")
    expect(main).not_to_contain_text(irene.email)
    assert_accessible(page)
    assert [mail.to for mail in mails_about("Prise en charge")] == [[jeanne.email]] * 2  # taken, then again
    for subject in ["Demande partiellement acceptée", "Mise en paiement", "Paiement effectué"]:
        assert [mail.to for mail in mails_about(subject)] == [[jeanne.email]], subject
