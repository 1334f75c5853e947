import itertools
from datetime import date
from decimal import Decimal

import pytest
from sepaxml.validation import ValidationError

from instruction import sepa
from refunds.models import RefundRequest
from tests.factories import BankAccountFactory, FarmFactory, RefundLineFactory, RefundRequestFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_media")]

PAY_ON = date(2027, 3, 1)
# Three IBANs that schwifty accepts, and BICs that follow the schema's pattern.
IBAN_A, BIC_A = "FR7630006000011234567890189", "AGRIFRPPXXX"
IBAN_B, BIC_B = "FR1420041010050500013M02606", "PSSTFRPPXXX"
IBAN_C, BIC_C = "FR7610107001011234567890129", "BREDFRPP"
NUMBERS = itertools.count(1)


@pytest.fixture(autouse=True)
def _debtor(settings):
    settings.PAYMENT_DEBTOR_NAME = "DGFIP - Remboursement TIC TICGN agricole"
    settings.PAYMENT_DEBTOR_IBAN = "FR7630001007941234567890185"
    settings.PAYMENT_DEBTOR_BIC = "BDFEFRPPCCT"


def accepted(granted: str, *, iban: str = IBAN_A, bic: str = BIC_A, **structure) -> RefundRequest:
    """A request filed with `iban`/`bic` (frozen), accepted for `granted` euros on one line."""
    farm = FarmFactory(**structure)
    account = BankAccountFactory(structure=farm, iban=iban, bic=bic)
    request = RefundRequestFactory(
        structure=farm,
        status=RefundRequest.Status.ACCEPTED,
        number=f"TIC-2023-{next(NUMBERS):06d}",
        bank_account=account,
        bank_label=account.label,
        bank_holder=farm.display_name,
        bank_iban=iban,
        bank_bic=bic,
        total_granted=Decimal(granted),
    )
    RefundLineFactory(request=request, amount=Decimal(granted), granted_amount=Decimal(granted))
    return request


def build(*requests: RefundRequest) -> bytes:
    return sepa.build(message_id="VIR-2027-0001", requests=list(requests), execution_date=PAY_ON)


def test_file_pays_each_request_its_granted_total_to_its_filed_account():
    first = accepted("1500.00", iban=IBAN_A, bic=BIC_A, name="EARL du Moulin")
    second = accepted("320.40", iban=IBAN_B, bic=BIC_B, name="GAEC des Prés")

    parsed = sepa.parse(build(first, second))

    assert parsed.message_id == "VIR-2027-0001"
    assert parsed.count == 2
    assert parsed.control_sum == Decimal("1820.40")
    assert (parsed.debtor_iban, parsed.debtor_bic) == ("FR7630001007941234567890185", "BDFEFRPPCCT")
    assert parsed.transfers == [
        sepa.Transfer("EARL du Moulin", IBAN_A, BIC_A, Decimal("1500.00"), first.number, first.number),
        sepa.Transfer("GAEC des Pres", IBAN_B, BIC_B, Decimal("320.40"), second.number, second.number),
    ]


def test_file_follows_the_pain_001_001_03_schema():
    xml = build(accepted("10.00"), accepted("20.00", iban=IBAN_C, bic=BIC_C))

    sepa.validate(xml)
    assert b"urn:iso:std:iso:20022:tech:xsd:pain.001.001.03" in xml
    assert b"<ReqdExctnDt>2027-03-01</ReqdExctnDt>" in xml


def test_validate_refuses_a_file_off_the_schema():
    xml = build(accepted("10.00")).replace(b"<ChrgBr>SLEV</ChrgBr>", b"<ChrgBr>NOPE</ChrgBr>")

    with pytest.raises(ValidationError):
        sepa.validate(xml)


def test_bank_account_changed_after_filing_does_not_move_the_money():
    request = accepted("800.00", iban=IBAN_A, bic=BIC_A)
    request.bank_account.iban, request.bank_account.bic = IBAN_B, BIC_B
    request.bank_account.save()
    BankAccountFactory(structure=request.structure, iban=IBAN_C, bic=BIC_C, is_default=False)

    (transfer,) = sepa.parse(build(request)).transfers

    assert (transfer.iban, transfer.bic) == (IBAN_A, BIC_A)


@pytest.mark.parametrize("granted", ["1234.56", "0.01", "0.10", "99999999.99"])
def test_amounts_are_exact_to_the_cent(granted):
    parsed = sepa.parse(build(accepted(granted)))

    assert parsed.transfers[0].amount == Decimal(granted)
    assert parsed.control_sum == Decimal(granted)


def test_creditor_name_with_accents_and_ampersand_is_written_in_the_sepa_latin_set():
    xml = build(accepted("50.00", name="GAEC Élevage & Fils — Côte d'Œuvre «Bio»"))

    sepa.validate(xml)
    assert sepa.parse(xml).transfers[0].name == "GAEC Elevage et Fils -- Cote d'OEuvre Bio"


def test_long_creditor_name_is_cut_to_70_characters():
    xml = build(accepted("50.00", name="Exploitation agricole à responsabilité limitée " * 3))

    assert len(sepa.parse(xml).transfers[0].name) == 70


def test_the_holder_is_named_as_filed_even_after_the_structure_was_renamed():
    request = accepted("50.00", name="EARL des Peupliers")
    request.structure.name = "Société écran"
    request.structure.save()

    assert sepa.parse(build(request)).transfers[0].name == "EARL des Peupliers"


def test_a_holder_name_with_nothing_left_in_the_sepa_latin_set_is_paid_to_its_siret():
    request = accepted("50.00", name="★★★")

    xml = build(request)

    sepa.validate(xml)
    assert sepa.parse(xml).transfers[0].name == f"SIRET {request.structure.siret}"


def test_request_filed_without_bic_is_paid_on_its_iban_alone():
    (transfer,) = sepa.parse(build(accepted("50.00", bic=""))).transfers

    assert (transfer.iban, transfer.bic) == (IBAN_A, "")


@pytest.mark.parametrize("granted", [None, Decimal("0.00"), Decimal("-5.00"), Decimal("1.005")])
def test_request_without_a_positive_granted_total_in_cents_is_refused(granted):
    request = accepted("10.00")
    request.total_granted = granted

    with pytest.raises(ValueError):
        build(request)


def test_empty_batch_is_refused():
    with pytest.raises(ValueError):
        build()


def test_file_off_the_schema_is_never_returned():
    with pytest.raises(ValidationError):
        build(accepted("10.00", bic="not a bic"))
