"""Filing a refund request through the pages: start, header, lines, invoices, sending; and what is refused."""

import html
import re
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from refunds import workflows
from refunds.models import Product, RefundEvent, RefundLine, RefundRequest
from structures.models import Membership
from tests.factories import (
    BankAccountFactory,
    FarmFactory,
    MembershipFactory,
    RefundLineFactory,
    RefundRequestFactory,
    UserFactory,
)
from tests.structures.conftest import PDF

OPEN_DAY = date(2026, 12, 7)  # 2023 is the only open campaign


def url(name, *args):
    return reverse(f"refunds:{name}", args=args)


def invoice_file(content: bytes = PDF, name: str = "facture-mars.pdf"):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def line_data(**overrides):
    data = {
        "invoice_number": "FA-2023-001",
        "invoice_date": "2023-03-15",
        "supplier": "Coopérative du Val",
        "product": Product.objects.get(code="gnr").pk,
        "quantity": "1 000",
    }
    data.update(overrides)
    return data


def page(response) -> str:
    """The page's text as a reader sees it (entities read: « l'année », not « l'année »)."""
    return re.sub(r"[ \t\n]+", " ", html.unescape(response.content.decode()))


def file_the_2023_request(client, farm) -> RefundRequest:
    """What a member does on the pages: start, one GNR line of 1 000 litres with its invoice, header, send."""
    response = client.post(url("request_start"), {"structure": farm.pk, "year": 2023})
    refund = RefundRequest.objects.get(structure=farm, year=2023)
    assert response.status_code == 302 and response["Location"] == url("request_detail", refund.pk)

    response = client.post(url("line_add", refund.pk), line_data())
    assert response.status_code == 302, page(response)
    line = refund.lines.get()
    assert client.post(url("invoice_attach", refund.pk, line.pk), {"invoice": invoice_file()}).status_code == 302
    response = client.post(
        url("request_detail", refund.pk), {"bank_account": farm.bank_accounts.get().pk, "not_in_difficulty": "on"}
    )
    assert response.status_code == 302

    confirm = client.get(url("request_send", refund.pk))
    assert confirm.status_code == 200, confirm.get("Location")
    assert "149,60" in page(confirm) and "FR76 •••• … 189" in page(confirm)
    response = client.post(url("request_send", refund.pk))
    assert response.status_code == 302 and response["Location"] == url("request_detail", refund.pk)
    refund.refresh_from_db()
    return refund


# The whole filing, by each kind of member.


@time_machine.travel(OPEN_DAY)
def test_the_farmer_files_a_2023_request_of_one_gnr_line(sign_in, farm, farmer, outbox):
    client = sign_in(farmer)

    refund = file_the_2023_request(client, farm)

    assert refund.status == RefundRequest.Status.FILED
    assert refund.number == f"TIC-2023-{refund.pk:06d}"
    line = refund.lines.get()
    assert (line.quantity, line.rate, line.amount) == (Decimal("1000.00"), Decimal("14.96"), Decimal("149.60"))
    assert line.invoice_filename == "facture-mars.pdf" and line.invoice_content_type == "application/pdf"
    assert refund.total_asked == Decimal("149.60")
    shown = page(client.get(url("request_detail", refund.pk)))
    assert f"La demande {refund.number} est envoyée" in shown and "courriel" in shown
    assert "Déposée" in shown and "14,96 €/hl" in shown and "149,60" in shown
    assert reverse("refunds:receipt", args=[refund.pk]) in shown and "Télécharger l'accusé de dépôt (PDF)" in shown
    assert "Fil d'évènements" in shown and "Demande déposée" in shown and "Marie Champ" in shown
    assert "Enregistrer" not in shown and url("line_add", refund.pk) not in shown
    mails = [mail for mail in outbox() if refund.number in mail.subject]
    assert [mail.to for mail in mails] == [[farmer.email]]  # the filer, who is also the farm's only manager


@time_machine.travel(OPEN_DAY)
def test_a_simple_user_of_the_farm_files_too_and_the_managers_are_told(sign_in, farm, farmer, farm_user, outbox):
    refund = file_the_2023_request(sign_in(farm_user), farm)

    assert refund.status == RefundRequest.Status.FILED and refund.filed_by == farm_user
    mails = {mail.to[0]: mail for mail in outbox() if refund.number in mail.subject}
    assert set(mails) == {farm_user.email, farmer.email}
    assert "par Ulysse" in mails[farmer.email].body


@time_machine.travel(OPEN_DAY)
def test_an_accountant_files_for_the_client_farm_and_its_manager_reads_which_centre(
    sign_in, farm, farmer, accountant, centre, outbox
):
    client = sign_in(accountant)
    start = page(client.get(url("request_start")))
    assert farm.siret in start and centre.siret not in start  # a management centre is never offered

    refund = file_the_2023_request(client, farm)

    assert refund.filed_by == accountant and refund.filer_centre == centre
    to_manager = next(mail for mail in outbox() if mail.to == [farmer.email] and refund.number in mail.subject)
    assert "Centre de gestion du Val" in to_manager.body


# Starting.


@time_machine.travel(OPEN_DAY)
def test_one_farm_is_preselected_and_only_open_years_are_offered(sign_in, farm, farmer):
    response = sign_in(farmer).get(url("request_start"))

    shown = page(response)
    assert f'<option value="{farm.pk}" selected>' in shown
    assert '<option value="2023" selected>' in shown and 'value="2022"' not in shown


@time_machine.travel(OPEN_DAY)
def test_a_second_start_for_the_same_year_opens_the_existing_request(sign_in, farm, farmer, draft):
    response = sign_in(farmer).post(url("request_start"), {"structure": farm.pk, "year": 2023}, follow=True)

    assert response.redirect_chain[-1][0] == url("request_detail", draft.pk)
    assert "a déjà une demande pour l'année 2023" in page(response)
    assert RefundRequest.objects.count() == 1


@time_machine.travel(OPEN_DAY)
def test_a_forged_structure_or_a_closed_year_is_a_form_error(sign_in, farmer, centre):
    client = sign_in(farmer)
    other = FarmFactory()
    farm = farmer.memberships.get().structure

    forged = page(client.post(url("request_start"), {"structure": other.pk, "year": 2023}))
    closed = page(client.post(url("request_start"), {"structure": farm.pk, "year": 2022}))
    centre_itself = page(client.post(url("request_start"), {"structure": centre.pk, "year": "deux mille"}))

    assert "Vous ne pouvez pas déposer de demande pour cette structure" in forged
    assert "Le dépôt des demandes n'est pas ouvert pour l'année « 2022 »" in closed
    assert "Le formulaire contient 2 erreurs" in centre_itself
    assert not RefundRequest.objects.exists()


@time_machine.travel(date(2027, 1, 1))
def test_when_no_campaign_is_open_the_page_says_so_and_refuses_a_year(sign_in, farm, farmer):
    client = sign_in(farmer)

    assert "Aucune campagne de dépôt n'est ouverte" in page(client.get(url("request_start")))
    response = client.post(url("request_start"), {"structure": farm.pk, "year": 2023})
    assert response.status_code == 200
    assert not RefundRequest.objects.exists()


@time_machine.travel(OPEN_DAY)
def test_a_user_with_no_farm_is_told_why_and_where_to_ask(sign_in, member, centre):
    assert "Demander un rattachement" in page(sign_in(member).get(url("request_start")))
    MembershipFactory(user=member, structure=centre)

    shown = page(sign_in(member).get(url("request_start")))

    assert "un centre de gestion dépose les demandes de ses clients" in shown
    assert reverse("approvals:request_attachment") in shown


# The header.


def test_the_header_preselects_the_default_account_and_shows_the_iban_masked(sign_in, farmer, draft):
    BankAccountFactory(structure=draft.structure, label="Livret", iban="FR1420041010050500013M02606", is_default=False)
    BankAccountFactory(
        structure=draft.structure, label="Sans RIB", iban="FR7610107001011234567890129", is_default=False, rib=""
    )

    shown = page(sign_in(farmer).get(url("request_detail", draft.pk)))

    assert "Compte courant (IBAN FR76 •••• … 189) – par défaut" in shown
    assert "Livret (IBAN FR14 •••• … 606)" in shown and "Sans RIB" not in shown
    assert "FR7630006000011234567890189" not in shown
    assert reverse("structures:structure_update", args=[draft.structure.pk]) in shown  # the farmer manages it


def test_a_simple_user_reads_the_category_and_pacage_without_a_link_to_change_them(sign_in, farm_user, draft):
    shown = page(sign_in(farm_user).get(url("request_detail", draft.pk)))

    assert "035000123" in shown and "Exploitant agricole à titre individuel" in shown
    assert reverse("structures:structure_update", args=[draft.structure.pk]) not in shown


def test_enregistrer_saves_the_header(sign_in, farmer, draft):
    other = BankAccountFactory(
        structure=draft.structure, label="Livret", iban="FR1420041010050500013M02606", is_default=False
    )

    response = sign_in(farmer).post(
        url("request_detail", draft.pk), {"bank_account": other.pk, "not_in_difficulty": "on"}, follow=True
    )

    assert "La demande est enregistrée" in page(response)
    draft.refresh_from_db()
    assert draft.bank_account == other and draft.not_in_difficulty


def test_another_structure_s_bank_account_is_a_form_error_and_nothing_changes(sign_in, farmer, draft):
    theirs = BankAccountFactory(structure=FarmFactory())

    response = sign_in(farmer).post(
        url("request_detail", draft.pk), {"bank_account": theirs.pk, "not_in_difficulty": "on"}
    )

    assert response.status_code == 200
    assert "Choisissez l'une des références bancaires de la structure" in page(response)
    assert "Le formulaire contient 1 erreur" in page(response)
    draft.refresh_from_db()
    assert draft.bank_account != theirs and not draft.not_in_difficulty


def test_the_de_minimis_block_appears_with_a_de_minimis_line_and_warns_past_the_ceiling(sign_in, farmer, draft):
    client = sign_in(farmer)
    assert "de_minimis_total" not in page(client.get(url("request_detail", draft.pk)))
    RefundLineFactory(request=draft, product=Product.objects.get(code="fioul-lourd"), amount=Decimal("344.00"))

    response = client.post(
        url("request_detail", draft.pk),
        {"bank_account": draft.bank_account.pk, "not_in_difficulty": "on", "de_minimis_total": "19 800,00"},
        follow=True,
    )

    draft.refresh_from_db()
    assert draft.de_minimis_total == Decimal("19800.00")
    assert "dépassent le plafond de 20\u202f000,00\u00a0€" in page(response)


def test_a_negative_de_minimis_amount_is_refused(sign_in, farmer, draft):
    RefundLineFactory(request=draft, product=Product.objects.get(code="gpl"))

    response = sign_in(farmer).post(
        url("request_detail", draft.pk), {"bank_account": draft.bank_account.pk, "de_minimis_total": "-5"}
    )

    assert "ne peut pas être négatif" in page(response)
    draft.refresh_from_db()
    assert draft.de_minimis_total is None


def test_the_page_lists_what_remains_before_sending_next_to_each_field(sign_in, farmer, draft):
    shown = page(sign_in(farmer).get(url("request_detail", draft.pk)))

    assert "Avant d'envoyer la demande" in shown
    assert '<a href="#lignes">Ajoutez au moins une ligne de demande.</a>' in shown
    assert '<a href="#declaration">Cochez la déclaration' in shown


@time_machine.travel(OPEN_DAY)
def test_a_header_post_on_a_sent_request_changes_nothing(sign_in, farmer, draft):
    sent = _sent(draft, farmer)

    response = sign_in(farmer).post(
        url("request_detail", sent.pk), {"not_in_difficulty": "", "bank_account": ""}, follow=True
    )

    assert "Cette demande est envoyée" in page(response)
    sent.refresh_from_db()
    assert sent.not_in_difficulty and sent.bank_account is not None


# Lines.


def test_a_line_is_saved_with_the_server_s_rate_and_amount(sign_in, farmer, draft):
    response = sign_in(farmer).post(
        url("line_add", draft.pk), line_data(quantity="1 000,50", rate="99", amount="1"), follow=True
    )

    line = draft.lines.get()
    assert (line.quantity, line.rate, line.amount) == (Decimal("1000.50"), Decimal("14.96"), Decimal("149.67"))
    assert "La ligne de la facture « FA-2023-001 » est ajoutée : 149,67" in page(response)
    draft.refresh_from_db()
    assert draft.total_asked == Decimal("149.67")


def test_the_line_page_carries_the_year_s_rates_for_the_live_amount(sign_in, farmer, draft):
    shown = page(sign_in(farmer).get(url("line_add", draft.pk)))

    gnr = Product.objects.get(code="gnr")
    assert 'id="taux-de-l-annee" type="application/json"' in shown
    assert f'"{gnr.pk}": {{"rate": "14.9600", "units": "100.00", "display": "14,96 \\u20ac/hl"' in shown
    assert 'aria-live="polite"' in shown and "refunds/refunds.js" in shown


def test_a_product_without_a_rate_for_the_year_is_not_offered_and_the_page_says_why(sign_in, farm, farmer):
    old = RefundRequestFactory(structure=farm, year=2019)
    carburant = Product.objects.get(code="gaz-naturel-carburant")
    client = sign_in(farmer)

    shown = page(client.get(url("line_add", old.pk)))
    refused = page(client.post(url("line_add", old.pk), line_data(invoice_date="2019-05-01", product=carburant.pk)))

    assert "Les taux 2019 ne sont pas encore publiés pour : Gaz naturel carburant." in shown
    assert f'value="{carburant.pk}"' not in shown
    assert "son taux n'est pas publié" in refused
    assert not old.lines.exists()


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("-1", "La quantité doit être supérieure à zéro."),
        ("0", "La quantité doit être supérieure à zéro."),
        ("0,00", "La quantité doit être supérieure à zéro."),
        ("1234567890", "La quantité compte au plus 8 chiffres avant la virgule"),
        ("12,345", "La quantité compte au plus 2 chiffres après la virgule."),
        ("douze", "Saisissez la quantité en chiffres, par exemple 1\u00a0000,50."),
        ("1e5", "Saisissez la quantité en chiffres, par exemple 1\u00a0000,50."),
        ("", "Saisissez la quantité facturée."),
    ],
)
def test_a_wrong_quantity_gets_a_french_error_and_no_line(sign_in, farmer, draft, quantity, message):
    response = sign_in(farmer).post(url("line_add", draft.pk), line_data(quantity=quantity))

    assert response.status_code == 200
    assert message in page(response)
    assert "Le formulaire contient 1 erreur" in page(response)
    assert not draft.lines.exists()


def test_the_largest_quantity_a_line_takes_is_accepted(sign_in, farmer, draft):
    sign_in(farmer).post(url("line_add", draft.pk), line_data(quantity="99 999 999,99"))

    assert draft.lines.get().quantity == Decimal("99999999.99")


def test_an_invoice_dated_in_another_year_is_refused(sign_in, farmer, draft):
    response = sign_in(farmer).post(url("line_add", draft.pk), line_data(invoice_date="2022-12-31"))

    assert "La date de la facture doit être dans l'année de la demande, 2023 (celle-ci est du 31/12/2022)." in page(
        response
    )
    assert not draft.lines.exists()


def test_a_date_typed_the_french_way_is_read_and_a_wrong_one_refused(sign_in, farmer, draft):
    client = sign_in(farmer)
    assert "Saisissez une date valide" in page(
        client.post(url("line_add", draft.pk), line_data(invoice_date="31/02/2023"))
    )

    client.post(url("line_add", draft.pk), line_data(invoice_date="15/03/2023"))

    assert draft.lines.get().invoice_date == date(2023, 3, 15)


def test_an_invoice_number_already_in_the_request_is_refused_whatever_its_case(sign_in, farmer, draft):
    RefundLineFactory(request=draft, invoice_number="FA-2023-001")

    response = sign_in(farmer).post(url("line_add", draft.pk), line_data(invoice_number="fa-2023-001"))

    assert "Ce numéro de facture figure déjà dans la demande" in page(response)
    assert draft.lines.count() == 1


def test_an_invoice_number_taken_a_moment_earlier_is_told_next_to_the_field(sign_in, farmer, draft, monkeypatch):
    def taken(*args, **kwargs):
        raise workflows.InvoiceNumberTaken

    monkeypatch.setattr(workflows, "add_line", taken)

    response = sign_in(farmer).post(url("line_add", draft.pk), line_data())

    assert response.status_code == 200
    assert "Ce numéro de facture figure déjà dans la demande" in page(response)


def test_a_text_file_is_refused_as_an_invoice(sign_in, farmer, draft):
    client = sign_in(farmer)
    text = SimpleUploadedFile("facture.pdf", b"Bonjour, voici ma facture", content_type="application/pdf")

    response = client.post(url("line_add", draft.pk), {**line_data(), "invoice": text})

    assert "n'est ni un PDF, ni une image PNG ou JPEG" in page(response)
    assert not draft.lines.exists()
    line = RefundLineFactory(request=draft, invoice=None)
    text.seek(0)
    response = client.post(url("invoice_attach", draft.pk, line.pk), {"invoice": text})
    assert "n'est ni un PDF, ni une image PNG ou JPEG" in page(response)
    line.refresh_from_db()
    assert not line.has_invoice


def test_the_attach_page_offers_the_file_field_with_its_label_and_hint(sign_in, farmer, draft):
    line = RefundLineFactory(request=draft, invoice=None)

    form = page(sign_in(farmer).get(url("invoice_attach", draft.pk, line.pk)))

    assert re.search(r'<label for="id_invoice"[^>]*>\s*Facture', form)
    assert 'type="file" name="invoice"' in form
    assert "Fichier PDF, PNG ou JPEG de 5 Mo au plus." in form


def test_attach_invoice_without_a_file_says_to_choose_one(sign_in, farmer, draft):
    line = RefundLineFactory(request=draft, invoice=None)

    response = sign_in(farmer).post(url("invoice_attach", draft.pk, line.pk), {})

    assert "Choisissez le fichier de la facture." in page(response)


def test_a_line_is_changed_and_its_amount_computed_again(sign_in, farmer, draft):
    client = sign_in(farmer)
    client.post(url("line_add", draft.pk), line_data())
    line = draft.lines.get()
    form = page(client.get(url("line_update", draft.pk, line.pk)))
    assert 'value="1000"' in form and 'value="2023-03-15"' in form

    client.post(url("line_update", draft.pk, line.pk), line_data(quantity="2000"))

    line.refresh_from_db()
    draft.refresh_from_db()
    assert (line.amount, draft.total_asked) == (Decimal("299.20"), Decimal("299.20"))


def test_a_line_keeps_its_own_invoice_number_when_changed(sign_in, farmer, draft):
    line = RefundLineFactory(request=draft, invoice_number="FA-2023-001")

    response = sign_in(farmer).post(url("line_update", draft.pk, line.pk), line_data(invoice_number="fa-2023-001"))

    assert response.status_code == 302
    line.refresh_from_db()
    assert line.invoice_number == "fa-2023-001"


def test_a_line_is_deleted_after_confirming(sign_in, farmer, draft):
    client = sign_in(farmer)
    client.post(url("line_add", draft.pk), line_data())
    line = draft.lines.get()

    assert "Supprimer la ligne « FA-2023-001 »" in page(client.get(url("line_delete", draft.pk, line.pk)))
    response = client.post(url("line_delete", draft.pk, line.pk), follow=True)

    assert "est supprimée" in page(response)
    assert not draft.lines.exists()
    draft.refresh_from_db()
    assert draft.total_asked == Decimal("0.00")


# Invoices.


def test_members_download_the_invoice_as_an_attachment_named_by_its_number(sign_in, farm_user, draft):
    line = RefundLineFactory(request=draft, invoice_number="FA-2023-0042")

    response = sign_in(farm_user).get(url("invoice_download", draft.pk, line.pk))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="facture-FA-2023-0042.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


def test_staff_allowed_to_view_requests_download_invoices_and_others_get_404(sign_in, draft, staff, outsider):
    line = RefundLineFactory(request=draft)
    download = url("invoice_download", draft.pk, line.pk)
    assert sign_in(staff).get(download).status_code == 404
    assert sign_in(outsider).get(download).status_code == 404

    staff.user_permissions.add(Permission.objects.get(codename="view_refundrequest"))

    assert sign_in(staff).get(download).status_code == 200
    assert sign_in(staff).get(url("request_detail", draft.pk)).status_code == 404  # staff use the admin


def test_a_line_without_an_invoice_has_nothing_to_download(sign_in, farmer, draft):
    line = RefundLineFactory(request=draft, invoice=None)

    assert sign_in(farmer).get(url("invoice_download", draft.pk, line.pk)).status_code == 404


# Another structure's ids.


def test_another_farm_s_request_and_lines_answer_404_and_nothing_changes(sign_in, farmer, draft):
    theirs = RefundRequestFactory(year=2023)
    their_line = RefundLineFactory(request=theirs)
    client = sign_in(farmer)
    mine = RefundLineFactory(request=draft)

    gets = [
        url("request_detail", theirs.pk),
        url("line_add", theirs.pk),
        url("line_update", theirs.pk, their_line.pk),
        url("line_delete", theirs.pk, their_line.pk),
        url("invoice_attach", theirs.pk, their_line.pk),
        url("invoice_download", theirs.pk, their_line.pk),
        url("request_send", theirs.pk),
        url("request_delete", theirs.pk),
        # Their line under my request, mine under theirs.
        url("line_update", draft.pk, their_line.pk),
        url("line_delete", draft.pk, their_line.pk),
        url("invoice_download", draft.pk, their_line.pk),
        url("invoice_download", theirs.pk, mine.pk),
        url("request_detail", 2**63),
        url("line_update", draft.pk, 2**63),
    ]
    for address in gets:
        assert client.get(address).status_code == 404, address
        assert client.post(address, {**line_data(), "not_in_difficulty": "on"}).status_code == 404, address

    theirs.refresh_from_db()
    their_line.refresh_from_db()
    assert theirs.status == RefundRequest.Status.DRAFT and not theirs.not_in_difficulty
    assert their_line.invoice_number != "FA-2023-001" and theirs.lines.count() == 1


# Sending.


def _sent(draft, by) -> RefundRequest:
    RefundLineFactory(request=draft)
    RefundRequest.objects.filter(pk=draft.pk).update(not_in_difficulty=True)
    return workflows.send(draft.pk, by=by)


def _ready(draft):
    RefundLineFactory(request=draft)
    RefundRequest.objects.filter(pk=draft.pk).update(not_in_difficulty=True)


def test_sending_without_a_recent_password_asks_for_it(sign_in, farmer, draft):
    _ready(draft)
    client = sign_in(farmer, fresh=False)

    for response in [client.get(url("request_send", draft.pk)), client.post(url("request_send", draft.pk))]:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:confirm_password"))
    draft.refresh_from_db()
    assert draft.status == RefundRequest.Status.DRAFT


@time_machine.travel(OPEN_DAY)
def test_a_request_with_problems_goes_back_to_its_page_with_them(sign_in, farmer, draft):
    RefundLineFactory(request=draft, invoice=None, invoice_number="F-SANS")

    response = sign_in(farmer).get(url("request_send", draft.pk), follow=True)

    assert response.redirect_chain[-1][0] == url("request_detail", draft.pk)
    shown = page(response)
    assert "La demande ne peut pas encore être envoyée" in shown
    assert "il manque la facture « F-SANS »" in shown


@time_machine.travel(date(2027, 1, 1))
def test_a_closed_year_cannot_be_sent(sign_in, farmer, draft):
    _ready(draft)
    client = sign_in(farmer)

    shown = page(client.get(url("request_send", draft.pk), follow=True))
    assert "Le dépôt des demandes pour l'année 2023 est clos." in shown

    # Sent from a confirmation page shown before midnight: the workflow checks again.
    response = client.post(url("request_send", draft.pk), follow=True)

    assert "Le dépôt des demandes pour l'année 2023 est clos." in page(response)
    draft.refresh_from_db()
    assert draft.status == RefundRequest.Status.DRAFT and draft.number is None


@time_machine.travel(OPEN_DAY)
def test_sending_twice_sends_once_and_says_it_was_already_sent(sign_in, farmer, farm_user, draft, outbox):
    _ready(draft)
    first, second = sign_in(farm_user), sign_in(farmer)
    assert second.get(url("request_send", draft.pk)).status_code == 200  # both see the confirmation page

    first.post(url("request_send", draft.pk))
    response = second.post(url("request_send", draft.pk), follow=True)

    assert "Cette demande a déjà été envoyée par Ulysse" in page(response)
    assert RefundEvent.objects.filter(request=draft, kind=RefundEvent.Kind.FILED).count() == 1
    draft.refresh_from_db()
    assert draft.filed_by == farm_user
    assert len([mail for mail in outbox() if draft.number in mail.subject]) == 2


@time_machine.travel(OPEN_DAY)
def test_the_same_member_sending_again_is_told_too(sign_in, farmer, draft):
    _ready(draft)
    client = sign_in(farmer)
    client.post(url("request_send", draft.pk))

    response = client.post(url("request_send", draft.pk), follow=True)

    assert "Cette demande a déjà été envoyée par Marie Champ" in page(response)
    assert RefundEvent.objects.filter(request=draft, kind=RefundEvent.Kind.FILED).count() == 1


@time_machine.travel(OPEN_DAY)
def test_a_sent_request_refuses_every_change(sign_in, farmer, draft):
    sent = _sent(draft, farmer)
    line = sent.lines.get()
    client = sign_in(farmer)

    for address in [
        url("line_add", sent.pk),
        url("line_update", sent.pk, line.pk),
        url("line_delete", sent.pk, line.pk),
        url("invoice_attach", sent.pk, line.pk),
        url("request_delete", sent.pk),
    ]:
        response = client.post(address, {**line_data(), "invoice": invoice_file()})
        assert response.status_code == 302 and response["Location"] == url("request_detail", sent.pk), address
    assert sent.lines.get().invoice_number == line.invoice_number
    assert RefundRequest.objects.filter(pk=sent.pk).exists()


@time_machine.travel(OPEN_DAY)
def test_a_request_asked_for_more_information_reopens_its_lines_not_its_header(sign_in, farmer, draft, outbox):
    sent = _sent(draft, farmer)
    RefundRequest.objects.filter(pk=sent.pk).update(status=RefundRequest.Status.INFORMATION_REQUESTED)
    RefundEvent.objects.create(
        request=sent,
        kind=RefundEvent.Kind.INFORMATION_REQUESTED,
        actor_label="Instructeur",
        message="Facture illisible.",
    )
    client = sign_in(farmer)

    shown = page(client.get(url("request_detail", sent.pk)))
    assert "Facture illisible." in shown and url("line_add", sent.pk) in shown and url("request_send", sent.pk) in shown
    assert 'name="not_in_difficulty"' not in shown and url("request_delete", sent.pk) not in shown

    client.post(url("line_add", sent.pk), line_data(invoice_number="FA-COMPLEMENT"))
    line = sent.lines.get(invoice_number="FA-COMPLEMENT")
    client.post(url("invoice_attach", sent.pk, line.pk), {"invoice": invoice_file()})
    response = client.post(url("request_send", sent.pk), {"message": "Facture jointe."}, follow=True)

    sent.refresh_from_db()
    assert sent.status == RefundRequest.Status.FILED and sent.total_asked == Decimal("299.20")
    assert "Complément envoyé" in page(response)


# Deleting a draft.


def test_a_draft_is_deleted_after_confirming(sign_in, farmer, draft):
    RefundLineFactory(request=draft)
    client = sign_in(farmer)

    assert "Supprimer le brouillon" in page(client.get(url("request_delete", draft.pk)))
    response = client.post(url("request_delete", draft.pk))

    assert response["Location"] == url("request_list")
    assert not RefundRequest.objects.exists() and not RefundLine.objects.exists()


def test_people_of_another_farm_and_detached_members_cannot_see_the_request(sign_in, draft, farm_user):
    stranger = UserFactory()
    MembershipFactory(user=stranger, structure=FarmFactory(), role=Membership.Role.MAIN_MANAGER)
    assert sign_in(stranger).get(url("request_detail", draft.pk)).status_code == 404

    Membership.objects.filter(user=farm_user).delete()

    assert sign_in(farm_user).get(url("request_detail", draft.pk)).status_code == 404
