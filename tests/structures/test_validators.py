"""The rules behind the structure and bank-detail forms, each with its French message."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from structures.validators import clean_bic, clean_iban, clean_pacage, clean_rib, clean_vat_number, vat_number_for
from tests.structures.conftest import IBAN, PDF, image_bytes, png_claiming, with_checksum


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


class TestRib:
    def test_a_pdf_is_kept_as_it_is(self):
        rib = clean_rib(SimpleUploadedFile("r.pdf", PDF))
        assert rib.content_type == "application/pdf"
        assert rib.content.read() == PDF

    @pytest.mark.parametrize(("fmt", "content_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg")])
    def test_images_are_re_encoded_without_what_rode_along(self, fmt, content_type):
        polyglot = image_bytes(fmt) + b"<html><script>alert(1)</script></html>"
        rib = clean_rib(SimpleUploadedFile("scan.png", polyglot))
        assert rib.content_type == content_type
        stored = rib.content.read()
        assert b"<script>" not in stored
        Image.open(rib.content).verify()

    @pytest.mark.parametrize(
        ("content", "code"),
        [
            (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "rib_type"),
            (b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 100, "rib_type"),
            (b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "rib_type"),
            (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "rib_type"),
            (b"GIF89a" + b"\x00" * 50, "rib_type"),
            (b"%PDF-1.4\n<html><script>alert(1)</script>", "rib_damaged"),
            (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "rib_damaged"),
            (b"\xff\xd8\xff\xe0" + b"\x00" * 50, "rib_damaged"),
            (png_claiming(8000, 6000), "rib_too_many_pixels"),
            (png_claiming(100_000, 100_000), "rib_too_many_pixels"),
        ],
        ids=["html", "exe", "elf", "svg", "gif", "fake-pdf", "broken-png", "broken-jpeg", "48-mpx", "10-gpx"],
    )
    def test_forged_files_are_refused(self, content, code):
        assert error_code(clean_rib, SimpleUploadedFile("rib.pdf", content)) == code

    def test_a_phone_photo_is_turned_upright(self):
        output = io.BytesIO()
        exif = Image.Exif()
        exif[0x0112] = 6  # "rotate 90° clockwise to display"
        Image.new("RGB", (80, 40), "white").save(output, format="JPEG", exif=exif)

        rib = clean_rib(SimpleUploadedFile("photo.jpg", output.getvalue()))

        assert Image.open(rib.content).size == (40, 80)

    def test_size_is_checked_before_reading(self, settings):
        settings.RIB_MAX_SIZE = 5 * 1024 * 1024
        big = SimpleUploadedFile("rib.pdf", PDF + b" " * (6 * 1024 * 1024))
        with pytest.raises(ValidationError) as raised:
            clean_rib(big)
        assert raised.value.code == "rib_too_large"
        assert "5 Mo" in raised.value.messages[0] and "6,0 Mo" in raised.value.messages[0]
