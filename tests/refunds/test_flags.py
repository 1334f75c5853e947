"""The flags computed when a request is sent (REFUNDS.md §4), and the département it is filed in."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from refunds import flags, workflows
from refunds.models import Product, RefundFlag, RefundRequest
from structures.models import Membership
from tests.factories import BankAccountFactory, FarmFactory, MembershipFactory, RefundLineFactory, RefundRequestFactory

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
FILING = datetime(2026, 12, 7, 10, 0, tzinfo=PARIS)
LONG_AGO = FILING - timedelta(days=400)
Kind = RefundFlag.Kind


def farm_with_account(*, account_at=LONG_AGO, **fields):
    """A farm ready to file, whose only bank account « Compte principal » was created at `account_at`."""
    with time_machine.travel(account_at, tick=False):
        farm = FarmFactory(**fields)
        BankAccountFactory(structure=farm, label="Compte principal")
    return farm


def filer_of(farm):
    return MembershipFactory(structure=farm, role=Membership.Role.MAIN_MANAGER).user


def send(farm, *lines, year=2023, at=FILING):
    """Sends the farm's request for `year` with `lines` (invoice number, product code, quantity), at `at`."""
    with time_machine.travel(at, tick=False):
        request = RefundRequestFactory(
            structure=farm, year=year, bank_account=farm.bank_accounts.get(), not_in_difficulty=True
        )
        for number, product, quantity in lines or [("F-1", "gnr", "1000")]:
            RefundLineFactory(
                request=request,
                invoice_number=number,
                product=Product.objects.get(code=product),
                quantity=Decimal(quantity),
            )
        return workflows.send(request.pk, by=filer_of(farm))


def sent_before(farm, *lines, year=2023, status=RefundRequest.Status.FILED, number=None):
    """A request of the farm already sent (or a draft), made directly as instruction left it."""
    request = RefundRequestFactory(
        structure=farm,
        year=year,
        status=status,
        number=number or (None if status == "draft" else f"TIC-{year}-X"),
        filed_at=None if status == "draft" else FILING - timedelta(days=60),
    )
    for invoice_number, product, quantity in lines:
        RefundLineFactory(
            request=request,
            invoice_number=invoice_number,
            product=Product.objects.get(code=product),
            quantity=Decimal(quantity),
        )
    return request


def explanations(request) -> dict:
    return dict(RefundFlag.objects.filter(request=request).values_list("kind", "explanation"))


def ask_complement(request):
    RefundRequest.objects.filter(pk=request.pk).update(status=RefundRequest.Status.INFORMATION_REQUESTED)


# The bank account paid, created or changed within 30 days before the filing.


def test_an_account_created_five_days_before_the_filing_is_flagged_with_its_date():
    farm = farm_with_account(account_at=datetime(2026, 12, 2, 9, 0, tzinfo=PARIS))

    request = send(farm)

    assert explanations(request)[Kind.RECENT_BANK_ACCOUNT] == (
        "La coordonnée bancaire « Compte principal » a été créée le 02/12/2026, 5 jours avant le dépôt."
    )


@pytest.mark.parametrize(("days", "flagged"), [(30, True), (31, False)])
def test_an_account_is_recent_up_to_30_days_before_the_filing(days, flagged):
    farm = farm_with_account(account_at=FILING - timedelta(days=days))

    request = send(farm)

    assert (Kind.RECENT_BANK_ACCOUNT in explanations(request)) is flagged


def test_an_old_account_whose_iban_changed_ten_days_before_is_flagged_naming_the_change():
    farm = farm_with_account()
    account = farm.bank_accounts.get()
    with time_machine.travel(FILING - timedelta(days=10), tick=False):
        account.iban = "FR7610107001011234567890129"
        account.save()

    request = send(farm)

    assert explanations(request)[Kind.RECENT_BANK_ACCOUNT] == (
        "La coordonnée bancaire « Compte principal » a été modifiée le 27/11/2026, 10 jours avant le dépôt (IBAN)."
    )


def test_a_save_that_changes_only_the_default_flag_is_no_change_of_the_account():
    farm = farm_with_account()
    account = farm.bank_accounts.get()
    with time_machine.travel(FILING - timedelta(days=3), tick=False):
        account.is_default = False
        account.save()
        account.save()

    request = send(farm)

    assert Kind.RECENT_BANK_ACCOUNT not in explanations(request)


def test_a_change_after_the_filing_does_not_count_when_the_complement_is_sent_back():
    farm = farm_with_account()
    request = send(farm)
    account = farm.bank_accounts.get()
    ask_complement(request)
    with time_machine.travel(FILING + timedelta(days=2), tick=False):
        account.bic = "BNPAFRPPXXX"
        account.save()
        workflows.send(request.pk, by=request.filed_by, message="Voici la facture.")

    assert Kind.RECENT_BANK_ACCOUNT not in explanations(request)


def test_the_account_filed_is_found_by_its_iban_once_deleted_when_the_complement_is_sent_back():
    farm = farm_with_account(account_at=FILING - timedelta(days=2))
    request = send(farm)
    ask_complement(request)
    farm.bank_accounts.all().delete()

    with time_machine.travel(FILING + timedelta(days=20), tick=False):
        workflows.send(request.pk, by=request.filed_by, message="Voici la facture.")

    assert explanations(request)[Kind.RECENT_BANK_ACCOUNT] == (
        "La coordonnée bancaire « Compte principal » a été créée le 05/12/2026, 2 jours avant le dépôt."
    )


# An invoice number also in another structure's sent request of the year.


def test_an_invoice_in_another_structure_s_sent_request_is_flagged_whatever_its_case():
    other = FarmFactory(siret="73282932000074")
    sent_before(other, ("fa-12", "gnr", "500"), number="TIC-2023-000042")
    sent_before(FarmFactory(), ("FA-99", "gnr", "500"), number="TIC-2023-000043")

    request = send(farm_with_account(), ("FA-12", "gnr", "1000"), ("FA-13", "gnr", "1000"))

    assert explanations(request)[Kind.INVOICE_ELSEWHERE] == (
        "La facture « FA-12 » figure aussi dans la demande TIC-2023-000042 (SIRET 73282932000074) d'une autre "
        "structure pour l'année 2023."
    )


def test_an_invoice_in_two_other_structures_requests_names_both():
    sent_before(FarmFactory(siret="73282932000074"), ("FA-12", "gnr", "500"), number="TIC-2023-000042")
    sent_before(FarmFactory(siret="35600000000048"), ("Fa-12", "gnr", "500"), number="TIC-2023-000051")

    request = send(farm_with_account(), ("FA-12", "gnr", "1000"))

    assert explanations(request)[Kind.INVOICE_ELSEWHERE] == (
        "La facture « FA-12 » figure aussi dans les demandes TIC-2023-000042 (SIRET 73282932000074), "
        "TIC-2023-000051 (SIRET 35600000000048) d'autres structures pour l'année 2023."
    )


def test_an_invoice_in_another_structure_s_draft_or_another_year_is_not_flagged():
    sent_before(FarmFactory(), ("FA-12", "gnr", "500"), status=RefundRequest.Status.DRAFT)
    sent_before(FarmFactory(), ("FA-12", "gnr", "500"), year=2022)

    request = send(farm_with_account(), ("FA-12", "gnr", "1000"))

    assert Kind.INVOICE_ELSEWHERE not in explanations(request)


# A product's quantity more than three times the year before's.


def test_a_quantity_more_than_three_times_last_year_s_is_flagged_with_both_quantities():
    farm = farm_with_account()
    sent_before(farm, ("2022-1", "gnr", "600"), ("2022-2", "gnr", "400"), year=2022, number="TIC-2022-000007")

    request = send(farm, ("F-1", "gnr", "2000"), ("F-2", "gnr", "1000.50"))

    assert explanations(request)[Kind.QUANTITY_JUMP] == (
        "Gazole non routier : 3\u202f000,5 litres demandés, contre 1\u202f000 litres dans la demande TIC-2022-000007 "
        "de 2022."
    )


@pytest.mark.parametrize(
    ("last_year", "status"),
    [
        ("1000", RefundRequest.Status.FILED),  # three times exactly
        (None, RefundRequest.Status.FILED),  # another product only
        ("100", RefundRequest.Status.DRAFT),  # never sent
    ],
)
def test_three_times_exactly_a_product_new_this_year_or_a_draft_last_year_is_not_flagged(last_year, status):
    farm = farm_with_account()
    sent_before(farm, ("2022-1", "gnr" if last_year else "gpl", last_year or "100"), year=2022, status=status)

    request = send(farm, ("F-1", "gnr", "3000"))

    assert Kind.QUANTITY_JUMP not in explanations(request)


# The structure's first request.


def test_a_structure_s_first_sent_request_is_flagged_a_draft_of_another_year_aside():
    farm = farm_with_account()
    sent_before(farm, year=2022, status=RefundRequest.Status.DRAFT)

    request = send(farm)

    assert explanations(request)[Kind.FIRST_REQUEST] == (
        "Première demande de la structure : elle n'a envoyé aucune autre demande de remboursement."
    )


def test_a_structure_that_sent_a_request_before_is_not_on_its_first():
    farm = farm_with_account()
    sent_before(farm, year=2021, status=RefundRequest.Status.REJECTED)

    assert explanations(send(farm)) == {}


def test_a_first_request_sent_back_with_the_complement_stays_the_first_after_a_later_one():
    farm = farm_with_account()
    request = send(farm)
    RefundRequestFactory(
        structure=farm,
        year=2024,
        status=RefundRequest.Status.FILED,
        number="TIC-2024-X",
        filed_at=FILING + timedelta(days=1),
    )
    ask_complement(request)

    with time_machine.travel(FILING + timedelta(days=3), tick=False):
        workflows.send(request.pk, by=request.filed_by, message="Facture jointe.")

    assert Kind.FIRST_REQUEST in explanations(request)


# Computed again on each sending, in bounded queries.


def test_the_flags_are_computed_again_when_the_complement_is_sent_back():
    sent_before(FarmFactory(), ("FA-12", "gnr", "500"), number="TIC-2023-000042")
    request = send(farm_with_account(), ("FA-12", "gnr", "1000"))
    assert set(explanations(request)) == {Kind.INVOICE_ELSEWHERE, Kind.FIRST_REQUEST}
    ask_complement(request)
    request.lines.update(invoice_number="FA-21")

    with time_machine.travel(FILING + timedelta(days=3), tick=False):
        workflows.send(request.pk, by=request.filed_by, message="Le numéro de facture était faux.")

    assert set(explanations(request)) == {Kind.FIRST_REQUEST}


@pytest.mark.parametrize("count", [1, 40])
def test_the_flags_queries_do_not_grow_with_the_lines(count, django_assert_max_num_queries):
    farm = farm_with_account()
    sent_before(farm, *[(f"2022-{n}", "gnr", "10") for n in range(count)], year=2022)
    sent_before(FarmFactory(), *[(f"F-{n}", "gnr", "10") for n in range(count)])
    request = RefundRequestFactory(
        structure=farm, status=RefundRequest.Status.FILED, number="TIC-2023-1", filed_at=FILING, bank_label="Compte"
    )
    request.bank_account = farm.bank_accounts.get()
    for n in range(count):
        RefundLineFactory(request=request, invoice_number=f"F-{n}")
    lines = list(request.lines.select_related("product"))

    with django_assert_max_num_queries(6):
        found = flags.renew(request, lines)

    assert {flag.kind for flag in found} == {Kind.INVOICE_ELSEWHERE, Kind.QUANTITY_JUMP}


# The département that instructs it.


def test_the_first_filing_notes_the_département_of_the_structure_s_postal_code_and_keeps_it():
    farm = farm_with_account(postal_code="20167")
    request = send(farm)
    assert request.departement == "2A"
    ask_complement(request)
    farm.postal_code = "26400"
    farm.save()

    with time_machine.travel(FILING + timedelta(days=3), tick=False):
        workflows.send(request.pk, by=request.filed_by, message="Voici la facture.")

    request.refresh_from_db()
    assert request.departement == "2A"
