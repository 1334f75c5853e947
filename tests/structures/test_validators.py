"""The rules behind the structure and bank-detail forms, each with its French message."""

import pytest
from django.core.exceptions import ValidationError

from structures.validators import clean_bic, clean_iban, clean_pacage, clean_vat_number, vat_number_for
from tests.structures.conftest import IBAN, with_checksum


def error_code(check, *args):
    with pytest.raises(ValidationError) as raised:
        check(*args)
    return raised.value.code


@pytest.mark.parametrize(
    "typed", ["FR76 3000 6000 0112 3456 7890 189", "fr7630006000011234567890189", " FR76300060 00011234567890189 "]
)
def test_iban_is_normalised(typed):
    assert str(clean_iban(typed)) == IBAN


@pytest.mark.parametrize(
    ("iban", "code"),
    [
        ("FR7630006000011234567890188", "iban_checksum"),
        ("FR763000600001123456789018", "iban_length"),
        ("FR76300060000112345678901899", "iban_length"),
        (with_checksum("FR", "30006000011234567890188"), "iban_bban"),  # the RIB key is wrong
        ("US7630006000011234567890189", "iban_country"),
        ("TR330006100519786457841326", "iban_not_sepa"),
        ("", "iban_invalid"),
        ("<script>", "iban_invalid"),
        ("FR76 3000 6000 0112 3456 7890 18\u00e9", "iban_invalid"),
    ],
)
def test_a_wrong_iban_is_refused_with_its_reason(iban, code):
    assert error_code(clean_iban, iban) == code


def test_the_bic_must_be_of_the_ibans_country_and_bank():
    iban = clean_iban(IBAN)
    assert clean_bic("agri fr pp", iban) == "AGRIFRPP"
    assert clean_bic("AGRIFRPPXXX", iban) == "AGRIFRPPXXX"
    assert error_code(clean_bic, "DEUTDEFF", iban) == "bic_country"
    assert error_code(clean_bic, "BNPAFRPP", iban) == "bic_bank"
    assert error_code(clean_bic, "AGRIFRP", iban) == "bic_format"
    assert error_code(clean_bic, "AGRI12PP", iban) == "bic_format"


@pytest.mark.parametrize("pacage", ["026123456", "974000001", "001999999", "095000000"])
def test_valid_pacage_numbers(pacage):
    assert clean_pacage(pacage) == pacage


@pytest.mark.parametrize(
    ("pacage", "code"),
    [
        ("02612345A", "pacage_format"),
        ("ABCDEFGHI", "pacage_format"),
        ("٠٢٦١٢٣٤٥٦", "pacage_format"),  # Arabic-Indic digits are digits to Python, not to the DDT
        ("02612345", "pacage_length"),
        ("0261234567", "pacage_length"),
        ("126123456", "pacage_departement"),
        ("000123456", "pacage_departement"),
        ("096123456", "pacage_departement"),
        ("975123456", "pacage_departement"),
    ],
)
def test_wrong_pacage_numbers(pacage, code):
    assert error_code(clean_pacage, pacage) == code


def test_vat_number_is_checked_against_the_siren():
    assert vat_number_for("303265045") == "FR40303265045"
    assert clean_vat_number("fr 40 303 265 045", "303265045") == "FR40303265045"
    assert error_code(clean_vat_number, "FR40303265045", "732829320") == "vat_siren_mismatch"
    assert error_code(clean_vat_number, "FR41303265045", "303265045") == "vat_invalid"
    assert error_code(clean_vat_number, "FRXX", "303265045") == "vat_invalid"
