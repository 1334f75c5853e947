"""Every uploaded document (`chorus.uploads`): its type found in its content, images within a pixel budget,
PDFs rewritten without what runs or rides along."""

import io
import struct
import zlib

import pikepdf
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageFile

from chorus.uploads import PDF_MAX_PAGES, CleanFile, UploadField, clean_upload
from tests.structures.conftest import PDF, arm_pdf, image_bytes, pdf_bytes, png_claiming, png_of


def cleaned(content: bytes, name: str = "document.pdf") -> CleanFile:
    return clean_upload(SimpleUploadedFile(name, content))


def refusal(content: bytes, name: str = "document.pdf") -> ValidationError:
    with pytest.raises(ValidationError) as raised:
        cleaned(content, name)
    return raised.value


def object_stream_bomb(inflated: int) -> bytes:
    """A one-page PDF whose objects sit in a compressed stream that inflates to `inflated` bytes."""
    offsets = b"1 0 2 50 3 120 "
    objects = (
        b"<< /Type /Catalog /Pages 2 0 R >>".ljust(50)
        + b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".ljust(70)
        + b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"
    )
    compressor = zlib.compressobj(9)
    padding = b" " * 2**20
    data = compressor.compress(offsets + objects)
    data += b"".join(compressor.compress(padding) for _ in range(inflated // 2**20)) + compressor.flush()
    out = bytearray(b"%PDF-1.5\n")
    stream_at = len(out)
    out += b"4 0 obj\n<< /Type /ObjStm /N 3 /First %d /Filter /FlateDecode /Length %d >>\nstream\n" % (
        len(offsets),
        len(data),
    )
    out += data + b"\nendstream\nendobj\n"
    xref_at = len(out)
    rows = [(0, 0, 65535), (2, 4, 0), (2, 4, 1), (2, 4, 2), (1, stream_at, 0), (1, xref_at, 0)]
    xref = b"".join(struct.pack(">BIH", *row) for row in rows)
    out += b"5 0 obj\n<< /Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n" % len(xref)
    out += xref + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


class TestPdf:
    def test_a_pdf_is_rewritten_without_its_active_content_and_keeps_its_pages(self):
        armed = pdf_bytes(pages=3, arm=arm_pdf)
        with pikepdf.open(io.BytesIO(armed)) as original:
            assert "/OpenAction" in original.Root and len(original.attachments) == 1

        clean = cleaned(armed)

        assert clean.content_type == "application/pdf"
        raw = clean.content.read()
        for rider in [b"JavaScript", b"MZ", b"/Launch", b"/URI", b"/EmbeddedFile", b"/FileAttachment"]:
            assert rider not in raw, rider
        with pikepdf.open(io.BytesIO(raw)) as stored:
            assert len(stored.pages) == 3
            assert set(stored.Root.keys()) == {"/Type", "/Pages"}
            assert "/AA" not in stored.pages[0]
            [*_, to_first_page] = stored.pages[2].Annots
            assert to_first_page.Dest[0].objgen == stored.pages[0].objgen

    def test_what_a_page_carries_is_disarmed_however_deep(self):
        def arm_a_form_field(pdf):
            submit = pikepdf.Dictionary(S=pikepdf.Name.SubmitForm, F=pikepdf.String("https://x.test"))
            then = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))
            goto = pikepdf.Dictionary(S=pikepdf.Name.GoTo, D=pikepdf.Array([0, pikepdf.Name.Fit]), Next=then)
            field = pdf.make_indirect(
                pikepdf.Dictionary(FT=pikepdf.Name.Tx, T=pikepdf.String("iban"), AA=pikepdf.Dictionary(K=then))
            )
            widget = pdf.make_indirect(
                pikepdf.Dictionary(
                    Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Widget, Rect=[0, 0, 10, 10], A=submit, Parent=field
                )
            )
            field.Kids = pikepdf.Array([widget])
            pdf.pages[0].Annots = pikepdf.Array([widget, pikepdf.Dictionary(Subtype=pikepdf.Name.Link, A=goto)])
            pdf.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array([field]), XFA=pikepdf.String("<xdp/>"))
            pdf.pages[0].Resources = pikepdf.Dictionary(Deep=pikepdf.Array([[[pikepdf.Dictionary(AA=then)]]]))

        raw = cleaned(pdf_bytes(arm=arm_a_form_field)).content.read()

        assert b"JavaScript" not in raw and b"SubmitForm" not in raw and b"x.test" not in raw and b"xdp" not in raw
        assert b"/GoTo" in raw  # a link within the document stays
        with pikepdf.open(io.BytesIO(raw)) as stored:
            [field] = stored.Root.AcroForm.Fields  # the form's field stays, without its script
            assert (str(field.T), "/AA" in field, "/A" in field.Kids[0]) == ("iban", False, False)

    def test_a_pdf_protected_by_a_password_is_refused(self):
        output = io.BytesIO()
        with pikepdf.open(io.BytesIO(PDF)) as pdf:
            pdf.save(output, encryption=pikepdf.Encryption(user="secret", owner="secret"))

        assert refusal(output.getvalue()).code == "pdf_encrypted"

    @pytest.mark.parametrize(
        ("content", "code"),
        [
            (b"%PDF-1.4\n<html><script>alert(1)</script>", "file_damaged"),
            (b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n", "file_damaged"),  # no catalog
            (pdf_bytes(pages=0), "pdf_empty"),
            (pdf_bytes(pages=PDF_MAX_PAGES + 1), "pdf_too_many_pages"),
            (object_stream_bomb(inflated=64 * 2**20), "file_damaged"),
        ],
        ids=["html", "no-catalog", "no-page", "too-many-pages", "flate-bomb"],
    )
    def test_pdfs_that_cannot_be_rewritten_safely_are_refused(self, content, code):
        assert refusal(content).code == code

    def test_a_pdf_whose_pages_bring_too_many_objects_is_refused(self):
        def crowd(pdf):
            pdf.pages[0].Crowd = pikepdf.Array([pdf.make_indirect(pikepdf.Dictionary(N=n)) for n in range(20_001)])

        assert refusal(pdf_bytes(arm=crowd)).code == "pdf_too_complex"


class TestImages:
    @pytest.mark.parametrize(("fmt", "content_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg")])
    def test_images_are_re_encoded_without_what_rode_along(self, fmt, content_type):
        polyglot = image_bytes(fmt) + b"<html><script>alert(1)</script></html>"

        clean = cleaned(polyglot, "scan.png")

        assert clean.content_type == content_type
        assert b"<script>" not in clean.content.read()
        Image.open(clean.content).verify()

    def test_an_image_over_the_pixel_budget_is_refused_before_a_pixel_is_decoded(self, monkeypatch):
        def decode(image):
            raise AssertionError("decoded")

        monkeypatch.setattr(ImageFile.ImageFile, "load", decode)

        error = refusal(png_of(8000, 5000), "rib.png")

        assert error.code == "image_too_many_pixels"
        assert "40 millions de pixels ; 12,5 millions au plus" in error.messages[0]

    def test_a_12_megapixel_phone_photo_passes(self):
        output = io.BytesIO()
        Image.new("L", (4032, 3024), 255).save(output, format="JPEG")

        assert Image.open(cleaned(output.getvalue(), "photo.jpg").content).size == (4032, 3024)

    def test_a_phone_photo_is_turned_upright(self):
        output = io.BytesIO()
        exif = Image.Exif()
        exif[0x0112] = 6  # "rotate 90° clockwise to display"
        Image.new("RGB", (80, 40), "white").save(output, format="JPEG", exif=exif)

        assert Image.open(cleaned(output.getvalue(), "photo.jpg").content).size == (40, 80)

    @pytest.mark.parametrize(
        ("content", "code"),
        [
            (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "file_damaged"),
            (b"\xff\xd8\xff\xe0" + b"\x00" * 50, "file_damaged"),
            (png_claiming(8000, 6000), "image_too_many_pixels"),
            (png_claiming(100_000, 100_000), "image_too_many_pixels"),
        ],
        ids=["broken-png", "broken-jpeg", "48-mpx", "10-gpx"],
    )
    def test_forged_images_are_refused(self, content, code):
        assert refusal(content, "rib.png").code == code

    def test_a_truncated_image_is_refused_even_after_the_receipt_renderer_loosened_pillow(self, monkeypatch):
        """WeasyPrint, which renders the refund receipts, sets Pillow's LOAD_TRUNCATED_IMAGES when it is imported."""
        import weasyprint  # noqa: F401

        monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # whatever the import did, as it leaves it
        truncated = image_bytes("PNG")[:-30]

        assert refusal(truncated, "rib.png").code == "file_damaged"


@pytest.mark.parametrize(
    "content",
    [
        b"<!DOCTYPE html><html><script>alert(1)</script></html>",
        b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 100,
        b"\x7fELF\x02\x01\x01" + b"\x00" * 100,
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"GIF89a" + b"\x00" * 50,
        b"<html>" + PDF,
    ],
    ids=["html", "exe", "elf", "svg", "gif", "html-then-pdf"],
)
def test_the_type_is_decided_by_the_content_never_the_name(content):
    error = refusal(content, "rib.pdf")

    assert error.code == "file_type"
    assert "« rib.pdf » n'est ni un PDF, ni une image PNG ou JPEG" in error.messages[0]


def test_the_size_is_checked_before_reading(settings):
    settings.UPLOAD_MAX_SIZE = 5 * 1024 * 1024

    error = refusal(PDF + b" " * (6 * 1024 * 1024))

    assert error.code == "file_too_large"
    assert error.messages[0] == "Le fichier ne doit pas dépasser 5 Mo (celui-ci fait 6 Mo)."


def test_the_field_cleans_to_the_file_to_store():
    field = UploadField(required=False)

    assert field.clean(None) is None
    clean = field.clean(SimpleUploadedFile("rib.png", image_bytes("PNG")))
    assert (clean.content_type, clean.content.name) == ("image/png", "rib.png")
