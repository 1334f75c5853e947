"""What a tester found walking the filing pages in a browser, each fixed and checked on the pages."""

import re
from datetime import date
from decimal import Decimal

import lxml.html
import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from refunds import workflows
from refunds.models import Product, RefundEvent, RefundRequest
from structures.models import Membership
from tests.factories import (
    BankAccountFactory,
    FarmFactory,
    MembershipFactory,
    RefundLineFactory,
    RefundRequestFactory,
)
from tests.refunds.test_views_filing import invoice_file, line_data, page, url

OPEN_DAY = date(2026, 12, 7)  # 2023 is the only open campaign


def tree(response):
    return lxml.html.fromstring(response.content.decode())


def text_of(element) -> str:
    return re.sub(r"\s+", " ", element.text_content()).strip()


def farm_managed_by_a_new_farmer(**structure):
    farm = FarmFactory(**structure)
    farmer = MembershipFactory(structure=farm, role=Membership.Role.MAIN_MANAGER).user
    return farm, farmer


# 1. « Envoyer » on a draft submits the header first: what was just ticked is not lost.


@time_machine.travel(OPEN_DAY)
def test_envoyer_saves_the_ticked_declaration_then_asks_to_confirm(sign_in, farmer, draft):
    RefundLineFactory(request=draft)
    client = sign_in(farmer)
    shown = tree(client.get(url("request_detail", draft.pk)))
    [send] = shown.xpath("//button[@name='send']")
    assert text_of(send) == "Envoyer" and send.get("form") == "en-tete"
    assert shown.xpath("//form[@id='en-tete']/@method") == ["post"]
    assert not shown.xpath(f"//a[@href='{url('request_send', draft.pk)}']")

    response = client.post(
        url("request_detail", draft.pk),
        {"bank_account": draft.bank_account.pk, "not_in_difficulty": "on", "send": "1"},
    )

    assert response.status_code == 302 and response["Location"] == url("request_send", draft.pk)
    draft.refresh_from_db()
    assert draft.not_in_difficulty and draft.status == RefundRequest.Status.DRAFT
    confirm = client.get(response["Location"])
    assert confirm.status_code == 200 and "Envoyer la demande" in page(confirm)


def test_envoyer_with_a_header_error_stays_on_the_page_and_saves_nothing(sign_in, farmer, draft):
    RefundLineFactory(request=draft, product=Product.objects.get(code="gpl"))

    response = sign_in(farmer).post(
        url("request_detail", draft.pk),
        {"bank_account": draft.bank_account.pk, "not_in_difficulty": "on", "de_minimis_total": "-5", "send": "1"},
    )

    assert response.status_code == 200
    assert "Le formulaire contient 1 erreur" in page(response) and "ne peut pas être négatif" in page(response)
    draft.refresh_from_db()
    assert not draft.not_in_difficulty and draft.de_minimis_total is None


@time_machine.travel(OPEN_DAY)
def test_a_request_asked_for_more_information_keeps_its_envoyer_link(sign_in, farmer, draft):
    RefundLineFactory(request=draft)
    RefundRequest.objects.filter(pk=draft.pk).update(not_in_difficulty=True)
    workflows.send(draft.pk, by=farmer)
    RefundRequest.objects.filter(pk=draft.pk).update(status=RefundRequest.Status.INFORMATION_REQUESTED)

    shown = tree(sign_in(farmer).get(url("request_detail", draft.pk)))

    [link] = shown.xpath(f"//a[@href='{url('request_send', draft.pk)}']")
    assert text_of(link) == "Répondre au complément"
    assert not shown.xpath("//button[@name='send']") and not shown.xpath("//form[@id='en-tete']")


# 2. A file chosen on a line form with another error is named, so that it is chosen again.

NOT_KEPT = (
    "Choisissez de nouveau le fichier « facture-mars.pdf » : il n'a pas été conservé car le formulaire contient "
    "une erreur."
)


def test_a_valid_invoice_posted_with_another_error_is_asked_again_on_add_and_update(sign_in, farmer, draft):
    client = sign_in(farmer)
    line = RefundLineFactory(request=draft, invoice=None)

    for address in [url("line_add", draft.pk), url("line_update", draft.pk, line.pk)]:
        response = client.post(address, {**line_data(quantity="-1"), "invoice": invoice_file()})

        assert response.status_code == 200, address
        shown = page(response)
        assert "La quantité doit être supérieure à zéro." in shown
        assert "Le formulaire contient 2 erreurs" in shown
        assert f'<a href="#id_invoice">Facture : {NOT_KEPT}</a>' in shown  # in the summary
        assert shown.count(NOT_KEPT) == 2  # and next to the field
    assert draft.lines.get() == line and not draft.lines.get().has_invoice


def test_a_file_kept_by_nobody_is_asked_again_when_the_workflow_refuses_the_line(sign_in, farmer, draft, monkeypatch):
    def taken(*args, **kwargs):
        raise workflows.InvoiceNumberTaken

    monkeypatch.setattr(workflows, "add_line", taken)

    response = sign_in(farmer).post(url("line_add", draft.pk), {**line_data(), "invoice": invoice_file()})

    assert "Ce numéro de facture figure déjà dans la demande" in page(response)
    assert NOT_KEPT in page(response)


def test_no_file_or_a_refused_file_is_not_asked_again(sign_in, farmer, draft):
    client = sign_in(farmer)
    text = SimpleUploadedFile("facture-mars.pdf", b"Bonjour", content_type="application/pdf")

    without = page(client.post(url("line_add", draft.pk), line_data(quantity="-1")))
    refused = page(client.post(url("line_add", draft.pk), {**line_data(quantity="-1"), "invoice": text}))

    assert "Choisissez de nouveau" not in without and "Le formulaire contient 1 erreur" in without
    assert "Choisissez de nouveau" not in refused and "n'est ni un PDF, ni une image PNG ou JPEG" in refused


# 3. A refused sending: one error alert at the top, focused, linking to each field; no second list.


@time_machine.travel(OPEN_DAY)
def test_a_refused_sending_lists_the_problems_once_in_a_focused_error_alert(sign_in, farmer, draft):
    RefundLineFactory(request=draft, invoice=None, invoice_number="F-SANS")
    client = sign_in(farmer)

    response = client.get(url("request_send", draft.pk), follow=True)

    assert response.redirect_chain == [(url("request_detail", draft.pk), 302)]
    shown = tree(response)
    [alert] = shown.xpath("//*[contains(@class, 'fr-alert--error')]")
    assert alert.get("role") == "alert" and alert.get("tabindex") == "-1" and alert.get("data-error-summary") == ""
    assert text_of(alert.xpath("h2")[0]) == "La demande ne peut pas encore être envoyée"
    links = {link.get("href"): text_of(link) for link in alert.xpath(".//li/a")}
    assert links == {
        "#declaration": "Cochez la déclaration « Je certifie que l'entreprise n'est pas en difficulté ».",
        "#lignes": "Joignez la facture de chaque ligne : il manque la facture « F-SANS ».",
    }
    assert shown.xpath("//title")[0].text_content().startswith("Erreur – ")
    text = page(response)
    assert "Avant d'envoyer la demande" not in text
    assert text.count("Cochez la déclaration") == 2  # the alert, and next to the box
    assert text.count("il manque la facture « F-SANS »") == 2  # the alert, and above the lines

    # Shown again, the page lists what remains as it does before any sending.
    again = client.get(url("request_detail", draft.pk))
    assert "Avant d'envoyer la demande" in page(again) and not tree(again).xpath("//*[@data-error-summary]")


@time_machine.travel(date(2027, 1, 1))
def test_a_sending_refused_on_the_confirmation_post_shows_the_same_alert(sign_in, farmer, draft):
    RefundLineFactory(request=draft)
    RefundRequest.objects.filter(pk=draft.pk).update(not_in_difficulty=True)

    response = sign_in(farmer).post(url("request_send", draft.pk), follow=True)

    [alert] = tree(response).xpath("//*[@data-error-summary]")
    assert [link.get("href") for link in alert.xpath(".//a")] == ["#annee"]
    assert page(response).count("Le dépôt des demandes pour l'année 2023 est clos.") == 2


# 4. The problems say what to do.


@time_machine.travel(OPEN_DAY)
@pytest.mark.parametrize(
    ("missing", "message"),
    [
        (
            {"beneficiary_category": "", "pacage": ""},
            "La catégorie de bénéficiaire et le numéro PACAGE de la structure manquent : un gestionnaire de la "
            "structure les renseigne dans « Modifier une structure » ; ils sont reportés sur la demande.",
        ),
        (
            {"beneficiary_category": ""},
            "La catégorie de bénéficiaire de la structure manque : un gestionnaire de la structure la renseigne "
            "dans « Modifier une structure » ; elle est reportée sur la demande.",
        ),
        (
            {"pacage": ""},
            "Le numéro PACAGE de la structure manque : un gestionnaire de la structure le renseigne dans « Modifier "
            "une structure » ; il est reporté sur la demande.",
        ),
    ],
)
def test_a_missing_category_or_pacage_says_who_fills_it_in_and_where(sign_in, missing, message):
    farm, farmer = farm_managed_by_a_new_farmer(**missing)
    refund = RefundRequestFactory(structure=farm, year=2023)

    shown = page(sign_in(farmer).get(url("request_detail", refund.pk)))

    assert f'<a href="#beneficiaire">{message}</a>' in shown


@time_machine.travel(OPEN_DAY)
def test_a_structure_without_any_bank_account_is_told_to_create_one(sign_in):
    farm, farmer = farm_managed_by_a_new_farmer()
    refund = RefundRequestFactory(structure=farm, year=2023)

    shown = page(sign_in(farmer).get(url("request_detail", refund.pk)))

    assert (
        '<a href="#references-bancaires">La structure n\'a aucune coordonnée bancaire avec son RIB : un gestionnaire '
        "doit en créer une (« Créer une coordonnée bancaire ») avant l'envoi.</a>"
    ) in shown
    assert "Choisissez les références bancaires" not in shown

    BankAccountFactory(structure=farm, is_default=False)  # one to choose, not chosen yet
    shown = page(sign_in(farmer).get(url("request_detail", refund.pk)))
    assert "Choisissez les références bancaires sur lesquelles verser le remboursement." in shown
    assert "aucune coordonnée bancaire avec son RIB" not in shown


# 5. The confirmation page repeats the de minimis warning.


@time_machine.travel(OPEN_DAY)
def test_the_confirmation_page_warns_when_the_de_minimis_ceiling_is_passed(sign_in, farmer, draft):
    RefundLineFactory(request=draft, product=Product.objects.get(code="fioul-lourd"), amount=Decimal("344.00"))
    RefundRequest.objects.filter(pk=draft.pk).update(not_in_difficulty=True, de_minimis_total=Decimal("19800.00"))
    client = sign_in(farmer)
    warning = (
        "Les aides de minimis déjà reçues (19\u202f800,00\u00a0€) et celles de cette demande (344,00\u00a0€) "
        "dépassent le plafond de 20\u202f000,00\u00a0€ sur trois exercices"
    )

    assert warning in page(client.get(url("request_send", draft.pk)))

    RefundRequest.objects.filter(pk=draft.pk).update(de_minimis_total=Decimal("19000.00"))
    assert "dépassent le plafond" not in page(client.get(url("request_send", draft.pk)))


# 6. The delete page counts its lines in French.


def test_the_delete_page_counts_no_line_one_line_or_several(sign_in, farmer, draft):
    client = sign_in(farmer)

    def sentence():
        return page(client.get(url("request_delete", draft.pk)))

    assert "qui n'a aucune ligne." in sentence()
    RefundLineFactory(request=draft)
    assert "avec sa ligne et la facture jointe (" in sentence() and "ses 1 ligne" not in sentence()
    RefundLineFactory(request=draft)
    assert "avec ses 2 lignes et les factures jointes" in sentence()


# 7. The invoice downloads under its number.


@pytest.mark.parametrize(
    ("number", "name"),
    [
        ("FA-2023-0042", "facture-FA-2023-0042.pdf"),
        ("Fà/2023 n°42", "facture-Fa-2023-n42.pdf"),
        ("../../etc/passwd", "facture-etc-passwd.pdf"),
        ("«»", "facture-{pk}.pdf"),
    ],
)
def test_the_invoice_file_is_named_by_its_number_in_safe_ascii(sign_in, farmer, draft, number, name):
    line = RefundLineFactory(request=draft, invoice_number=number)

    response = sign_in(farmer).get(url("invoice_download", draft.pk, line.pk))

    assert response["Content-Disposition"] == f'attachment; filename="{name.format(pk=line.pk)}"'


# 8. « Mes demandes de remboursement »: the filters and « Filtrer » are columns of one grid, stacked on a phone.


def test_the_list_s_filters_and_its_button_are_columns_of_one_grid(sign_in, farmer, draft):
    shown = tree(sign_in(farmer).get(url("request_list"), {"status": "draft"}))

    [grid] = shown.xpath("//main//form[@method='get']//div[contains(@class, 'fr-grid-row--gutters')]")
    columns = grid.xpath("./div")
    assert [column.get("class") for column in columns] == ["fr-col-12 fr-col-md-6 fr-col-lg-3"] * 4
    assert [column.xpath(".//select/@name") for column in columns[:3]] == [["structure"], ["year"], ["status"]]
    assert [text_of(button) for button in columns[3].xpath(".//button | .//a")] == [
        "Filtrer",
        "Réinitialiser les filtres",
    ]


def test_a_forged_filter_still_gets_its_error_summary(sign_in, farmer, draft):
    shown = page(sign_in(farmer).get(url("request_list"), {"status": "nope"}))

    assert "Le formulaire contient 1 erreur" in shown and '<a href="#id_status">Statut' in shown


# 9. The live amount: a visible text at each key, and one hidden live copy for screen readers.


def test_the_line_amount_is_shown_at_once_and_read_out_from_a_single_hidden_live_region(sign_in, farmer, draft):
    line = RefundLineFactory(request=draft)

    for address in [url("line_add", draft.pk), url("line_update", draft.pk, line.pk)]:
        shown = tree(sign_in(farmer).get(address))

        [live] = shown.xpath("//*[@aria-live]")
        assert live.get("aria-live") == "polite" and "fr-sr-only" in live.get("class")
        assert live.get("data-line-amount-live") == ""
        for visible in shown.xpath("//*[@data-line-amount-text or @data-line-amount-total]"):
            assert visible.xpath("ancestor::*[@aria-hidden='true']"), address
    assert text_of(live) == "Taux : 14,96 €/hl – Montant : 149,60 €"


# 10. A forged bank account for a structure without any: the error leads to a block that is on the page.


def test_a_forged_bank_account_without_any_account_is_shown_in_the_bank_block(sign_in):
    farm, farmer = farm_managed_by_a_new_farmer()
    refund = RefundRequestFactory(structure=farm, year=2023)
    theirs = BankAccountFactory(structure=FarmFactory())

    response = sign_in(farmer).post(url("request_detail", refund.pk), {"bank_account": theirs.pk})

    assert response.status_code == 200
    shown = tree(response)
    [summary] = shown.xpath("//*[@data-error-summary]")
    [link] = summary.xpath(".//a")
    assert link.get("href") == "#references-bancaires"
    [block] = shown.xpath("//*[@id='references-bancaires']")
    assert "Choisissez l'une des références bancaires de la structure, avec son RIB." in text_of(block)
    assert not shown.xpath("//*[@id='id_bank_account']")
    refund.refresh_from_db()
    assert refund.bank_account is None


# 11. The masked IBAN closes its bracket without a space.


@time_machine.travel(OPEN_DAY)
def test_the_masked_iban_is_followed_by_its_bracket(sign_in, farmer, draft):
    RefundLineFactory(request=draft)
    RefundRequest.objects.filter(pk=draft.pk).update(not_in_difficulty=True)
    client = sign_in(farmer)
    closed = re.compile(r"finissant par 189</span>\)")

    assert closed.search(client.get(url("request_send", draft.pk)).content.decode())
    workflows.send(draft.pk, by=farmer)
    assert closed.search(client.get(url("request_detail", draft.pk)).content.decode())
    assert RefundEvent.objects.filter(request=draft, kind=RefundEvent.Kind.FILED).exists()


# 12. The invoice date's hint gives an example and the request's year.


@pytest.mark.parametrize("year", [2023, 2022])
def test_the_invoice_date_hint_names_the_request_s_year(sign_in, farm, farmer, year):
    refund = RefundRequestFactory(structure=farm, year=year)

    shown = tree(sign_in(farmer).get(url("line_add", refund.pk)))

    [hint] = shown.xpath("//*[@id='id_invoice_date_helptext']")
    assert text_of(hint) == (f"Par exemple : 15/03/{year}. La date doit être dans l'année de la demande ({year}).")
    assert "id_invoice_date_helptext" in shown.xpath("//input[@name='invoice_date']/@aria-describedby")[0]
