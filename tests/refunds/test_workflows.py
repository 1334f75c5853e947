"""The farm's steps on a refund request: amounts, one request a year, sending and what it freezes."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.core.files.base import ContentFile

from audit.models import Action, AuditEvent
from chorus.uploads import CleanFile
from refunds import workflows
from refunds.models import Product, Rate, RefundEvent, RefundLine, RefundRequest
from tests.factories import RefundLineFactory

pytestmark = pytest.mark.django_db


def line(number="F-1", product="gnr", quantity="1000", day=date(2023, 3, 15)):
    return workflows.LineData(
        invoice_number=number,
        invoice_date=day,
        supplier="Coopérative du Val",
        product=Product.objects.get(code=product),
        quantity=Decimal(quantity),
    )


def invoice():
    return workflows.Invoice(CleanFile(ContentFile(b"%PDF-1.4\n%%EOF\n"), "application/pdf"), "facture-mars.pdf")


@pytest.mark.parametrize(
    ("product", "quantity", "rate", "amount"),
    [
        ("gnr", "1000", "14.96", "149.60"),  # 10 hl at 14,96 €/hl
        ("gnr", "0.01", "14.96", "0.00"),  # 0,0001 hl: 0,0014960 € rounds to nothing
        ("gnr", "33.45", "14.96", "5.00"),  # 5,00412 €
        ("fioul-lourd", "2500", "13.76", "344.00"),  # 25 × 100 kg
        ("gpl", "1234.5", "5.72", "70.61"),  # 70,6134
        ("gaz-naturel-combustible", "12.5", "7.83", "97.88"),  # 97,875: half up
        ("gaz-naturel-carburant", "99999999.99", "4.69", "468999999.95"),  # the largest quantity a line takes
    ],
)
def test_a_line_s_amount_is_the_quantity_in_the_rate_s_unit_times_the_rate_rounded_half_up(
    product, quantity, rate, amount
):
    assert Product.objects.get(code=product).amount(Decimal(quantity), Decimal(rate)) == Decimal(amount)


def test_the_shipped_rates_are_those_published_for_each_year():
    published = {(rate.year, rate.product.code): rate.amount for rate in Rate.objects.select_related("product")}
    assert published[(2023, "gnr")] == Decimal("14.96")
    assert published[(2023, "fioul-lourd")] == Decimal("13.76")
    assert published[(2022, "fioul-lourd")] == Decimal("13.765")
    assert published[(2019, "gaz-naturel-combustible")] == Decimal("8.331")
    assert (2019, "gaz-naturel-carburant") not in published
    assert {year for year, _ in published} == {2019, 2021, 2022, 2023}


@time_machine.travel(date(2026, 12, 7))
def test_only_the_campaigns_open_today_are_offered():
    assert [campaign.year for campaign in workflows.open_campaigns()] == [2023]


@time_machine.travel(date(2024, 6, 1))
def test_a_campaign_is_open_until_31_december_of_the_third_year_after():
    assert [campaign.year for campaign in workflows.open_campaigns()] == [2023, 2022, 2021]


def test_a_second_start_for_the_same_year_opens_the_existing_request(farm, farmer, farm_user):
    first, created = workflows.start(farm, 2023, by=farmer)
    again, created_again = workflows.start(farm, 2023, by=farm_user)
    assert created and not created_again
    assert again == first
    assert first.bank_account == farm.bank_accounts.get(is_default=True)
    assert list(first.events.values_list("kind", flat=True)) == [RefundEvent.Kind.CREATED]


def test_lines_carry_the_server_s_rate_and_the_total_is_the_sum_of_rounded_lines(draft, farmer):
    workflows.add_line(draft.pk, line("F-1", "gaz-naturel-combustible", "12.5"), by=farmer)  # 97,875 → 97,88
    workflows.add_line(draft.pk, line("F-2", "gaz-naturel-combustible", "12.5"), by=farmer)
    draft.refresh_from_db()
    assert draft.total_asked == Decimal("195.76")  # not 195,75, the rounded total
    assert [(each.rate, each.amount) for each in draft.lines.all()] == [(Decimal("7.83"), Decimal("97.88"))] * 2


def test_an_invoice_number_appears_once_per_request_whatever_its_case(draft, farmer):
    workflows.add_line(draft.pk, line("FA-12"), by=farmer)
    with pytest.raises(workflows.InvoiceNumberTaken):
        workflows.add_line(draft.pk, line("fa-12"), by=farmer)
    assert draft.lines.count() == 1


def test_a_product_without_a_rate_for_the_year_cannot_be_added(farm, farmer):
    request, _ = workflows.start(farm, 2019, by=farmer)
    with pytest.raises(workflows.RateMissing):
        workflows.add_line(request.pk, line(product="gaz-naturel-carburant", day=date(2019, 5, 1)), by=farmer)


@time_machine.travel(date(2026, 12, 7))
def test_sending_freezes_rates_amounts_bank_account_category_and_pacage(draft, farmer, outbox):
    workflows.add_line(draft.pk, line(), invoice=invoice(), by=farmer)
    workflows.save_header(
        draft.pk, bank_account=draft.bank_account, not_in_difficulty=True, de_minimis_total=None, by=farmer
    )
    sent = workflows.send(draft.pk, by=farmer)

    assert sent.status == RefundRequest.Status.FILED
    assert sent.number == f"TIC-2023-{draft.pk:06d}"
    assert (sent.bank_iban, sent.pacage) == ("FR7630006000011234567890189", "035000123")
    assert sent.total_asked == Decimal("149.60")
    Rate.objects.filter(year=2023, product__code="gnr").update(amount=Decimal("20"))
    draft.structure.bank_accounts.update(iban="FR7610107001011234567890129")
    sent.refresh_from_db()
    assert (sent.bank_iban, sent.lines.get().amount) == ("FR7630006000011234567890189", Decimal("149.60"))
    assert AuditEvent.objects.filter(action=Action.REFUND_FILED, target=sent.number).exists()
    assert [mail.to for mail in outbox() if sent.number in mail.subject] == [[farmer.email]]


@time_machine.travel(date(2026, 12, 7))
@pytest.mark.parametrize(("postal_code", "country"), [("", "FR"), ("98000", "FR"), ("00100", "FR"), ("10115", "DE")])
def test_a_structure_without_a_french_departement_cannot_send(draft, farmer, postal_code, country):
    draft.structure.postal_code, draft.structure.country = postal_code, country
    draft.structure.save()
    workflows.add_line(draft.pk, line(), invoice=invoice(), by=farmer)
    workflows.save_header(
        draft.pk, bank_account=draft.bank_account, not_in_difficulty=True, de_minimis_total=None, by=farmer
    )

    with pytest.raises(workflows.SendingRefused) as refused:
        workflows.send(draft.pk, by=farmer)

    [problem] = refused.value.problems
    assert problem.field == "structure" and "code postal d'un département français" in problem.message
    draft.refresh_from_db()
    assert draft.status == RefundRequest.Status.DRAFT


@time_machine.travel(date(2026, 12, 7))
def test_a_line_changed_for_a_complement_keeps_what_was_filed(draft, farmer, private_media):
    workflows.add_line(draft.pk, line("F-1"), invoice=invoice(), by=farmer)
    workflows.save_header(
        draft.pk, bank_account=draft.bank_account, not_in_difficulty=True, de_minimis_total=None, by=farmer
    )
    sent = workflows.send(draft.pk, by=farmer)
    filed_line = sent.lines.get()
    filed_invoice = filed_line.invoice.name
    RefundRequest.objects.filter(pk=sent.pk).update(status=RefundRequest.Status.INFORMATION_REQUESTED)

    with time_machine.travel(date(2026, 12, 8)):
        workflows.update_line(filed_line.pk, line("F-1", quantity="800"), invoice=invoice(), by=farmer)
        workflows.add_line(sent.pk, line("F-2"), invoice=invoice(), by=farmer)

    [changed, added] = sent.line_changes()
    assert (changed.invoice_number, changed.kind, changed.by) == ("F-1", "modifiée", farmer)
    assert [
        (field.label, " ".join(field.before.split()), " ".join(field.after.split())) for field in changed.fields
    ] == [
        ("Quantité", "1 000 litres", "800 litres"),
        ("Montant", "149,60 €", "119,68 €"),
        ("Facture", "facture-mars.pdf", "facture-mars.pdf (nouveau fichier)"),
    ]
    assert (added.invoice_number, added.kind) == ("F-2", "ajoutée")
    # The invoice as filed stays in storage: the line's history points to it.
    assert filed_line.invoice.storage.exists(filed_invoice)


@time_machine.travel(date(2026, 12, 7))
def test_sending_is_refused_with_each_problem_next_to_its_field(farm, farmer):
    farm.pacage = ""
    farm.save()
    request, _ = workflows.start(farm, 2023, by=farmer)
    RefundLineFactory(request=request, invoice="", product=Product.objects.get(code="gpl"))

    with pytest.raises(workflows.SendingRefused) as refused:
        workflows.send(request.pk, by=farmer)

    assert {problem.field for problem in refused.value.problems} == {
        "structure",
        "not_in_difficulty",
        "lines",
        "de_minimis_total",
    }
    request.refresh_from_db()
    assert request.status == RefundRequest.Status.DRAFT and request.number is None


@time_machine.travel(date(2026, 12, 7))
def test_the_problems_say_who_completes_the_structure_and_where(farm, farmer):
    farm.pacage = ""
    farm.save()
    farm.bank_accounts.all().delete()
    request, _ = workflows.start(farm, 2023, by=farmer)

    messages = {problem.field: problem.message for problem in workflows.problems(request)}

    assert messages["structure"] == (
        "Le numéro PACAGE de la structure manque : un gestionnaire de la structure le renseigne dans « Modifier une "
        "structure » ; il est reporté sur la demande."
    )
    assert messages["bank_account"] == (
        "La structure n'a aucune coordonnée bancaire avec son RIB : un gestionnaire doit en créer une (« Créer une "
        "coordonnée bancaire ») avant l'envoi."
    )


@time_machine.travel(date(2027, 1, 1))
def test_a_closed_campaign_cannot_be_sent(draft, farmer):
    RefundLineFactory(request=draft)
    draft.not_in_difficulty = True
    draft.save()
    with pytest.raises(workflows.SendingRefused) as refused:
        workflows.send(draft.pk, by=farmer)
    assert [problem.message for problem in refused.value.problems] == [
        "Le dépôt des demandes pour l'année 2023 est clos."
    ]


@time_machine.travel(date(2026, 12, 7))
def test_a_sent_request_cannot_be_sent_again_nor_changed(draft, farmer):
    RefundLineFactory(request=draft)
    draft.not_in_difficulty = True
    draft.save()
    workflows.send(draft.pk, by=farmer)
    with pytest.raises(workflows.AlreadySent):
        workflows.send(draft.pk, by=farmer)
    with pytest.raises(workflows.NotEditable):
        workflows.add_line(draft.pk, line("F-9"), by=farmer)


def test_a_complement_is_sent_back_after_the_closing_with_the_filed_header_kept(draft, farmer, farm_user, outbox):
    """The instructor may ask after the campaign closed, and the account filed may have gone since."""
    RefundLineFactory(request=draft)
    draft.not_in_difficulty = True
    draft.save()
    with time_machine.travel(date(2026, 12, 7)):
        filed = workflows.send(draft.pk, by=farmer)
    filed_at, iban = filed.filed_at, filed.bank_iban
    RefundRequest.objects.filter(pk=draft.pk).update(status=RefundRequest.Status.INFORMATION_REQUESTED)
    draft.structure.bank_accounts.all().delete()  # the request keeps its frozen copy

    with time_machine.travel(date(2027, 3, 1)):
        workflows.add_line(draft.pk, line("F-COMPLEMENT", product="gpl"), invoice=invoice(), by=farm_user)
        sent_back = workflows.send(draft.pk, by=farm_user)

    assert sent_back.status == RefundRequest.Status.FILED
    assert (sent_back.number, sent_back.filed_at, sent_back.filed_by, sent_back.bank_iban) == (
        filed.number,
        filed_at,
        farmer,
        iban,
    )
    assert list(sent_back.events.values_list("kind", flat=True)) == ["filed", "refiled"]


def test_an_invoice_stored_for_a_line_whose_number_was_taken_is_removed(draft, farmer):
    workflows.add_line(draft.pk, line("FA-12"), by=farmer)
    storage = RefundLine._meta.get_field("invoice").storage

    with pytest.raises(workflows.InvoiceNumberTaken):
        workflows.add_line(draft.pk, line("fa-12"), invoice=invoice(), by=farmer)

    assert [path for path in Path(storage.location).rglob("*") if path.is_file()] == []
